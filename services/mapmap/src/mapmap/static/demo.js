// MapMap demo: every endpoint as a layer; the reprojected LKS-92 layer sits over the passthrough one.
(async function () {
  const map = L.map("map").setView([56.95, 24.1], 7);
  const response = await fetch("../endpoints");
  const { endpoints } = await response.json();
  const base = {};
  const overlays = {};
  let overlay = null;
  endpoints.forEach((endpoint, index) => {
    const layer = L.tileLayer(`../tiles/${endpoint.name}/{z}/{x}/{y}.png`, {
      maxZoom: 18,
      attribution: `MapMap · ${endpoint.title}`,
      opacity: index === 0 ? 1 : 0.6,
    });
    if (index === 0) {
      base[endpoint.title] = layer;
      layer.addTo(map);
    } else {
      overlays[endpoint.title] = layer;
      if (overlay === null) {
        overlay = layer;
        layer.addTo(map);
      }
    }
  });
  L.control.layers(base, overlays, { collapsed: false }).addTo(map);
  const slider = document.getElementById("opacity");
  slider.addEventListener("input", () => overlay && overlay.setOpacity(Number(slider.value) / 100));
  window.mapmapReady = true;
})();
