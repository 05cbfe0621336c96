// indoormaps map page: level switcher, rooms and base floor streamed over SSE, search, routing.
"use strict";
(function () {
  const state = { level: null, from: null, to: null, streams: [], roomsLoaded: 0, baseLoaded: 0, route: null };
  window.indoormaps = state; // read by the browser test
  const $ = (id) => document.getElementById(id);
  const map = L.map("map", { zoomSnap: 0.25, preferCanvas: false }).setView([60.007, 30.38], 17);
  state.map = map;
  const base = L.geoJSON(null, { style: { color: "#90a4ae", weight: 1, fillOpacity: 0.15 }, interactive: false }).addTo(map);
  const rooms = L.geoJSON(null, {
    style: (f) => ({ color: "#1565c0", weight: 1, fillOpacity: 0.25, className: "room" }),
    onEachFeature: (feature, layer) => {
      layer.bindTooltip(feature.properties.name || feature.properties.category || "room");
      layer.on("click", () => selectRoom(feature));
      state.roomLayers[feature.id] = layer;
    },
  }).addTo(map);
  const routeLayer = L.layerGroup().addTo(map);
  state.roomLayers = {};
  let fitted = false;

  function status(text) { $("status").textContent = text; }

  // One SSE stream per layer and level; batches are appended as they arrive.
  function stream(path, target, counter) {
    const source = new EventSource(path);
    state.streams.push(source);
    source.addEventListener("batch", (event) => {
      const page = JSON.parse(event.data);
      target.addData(page);
      state[counter] += page.features.length;
      status(`level ${state.level}: ${state.roomsLoaded} rooms, ${state.baseLoaded} outlines`);
      if (!fitted && target.getLayers().length) { map.fitBounds(target.getBounds()); fitted = true; }
    });
    source.addEventListener("end", () => {
      source.close(); // otherwise EventSource reconnects after the stream ends
      document.body.dataset[counter] = String(state[counter]);
    });
    source.addEventListener("error", () => { if (source.readyState === EventSource.CLOSED) status("stream closed"); });
  }

  function showLevel(level) {
    state.streams.forEach((s) => s.close());
    state.streams = [];
    state.level = level;
    state.roomsLoaded = state.baseLoaded = 0;
    state.roomLayers = {};
    delete document.body.dataset.roomsLoaded;
    delete document.body.dataset.baseLoaded;
    base.clearLayers(); rooms.clearLayers();
    fitted = false;
    stream(`/api/base-floor/?level=${level}`, base, "baseLoaded");
    stream(`/api/rooms/?level=${level}`, rooms, "roomsLoaded");
    drawRoute();
  }

  async function loadLevels() {
    const response = await fetch("/api/layers/levels/?limit=1000");
    const page = await response.json();
    const ordinals = [...new Set(page.features.map((f) => f.properties.ordinal))].sort((a, b) => a - b);
    const select = $("level");
    for (const ordinal of ordinals) {
      const name = page.features.find((f) => f.properties.ordinal === ordinal).properties.short_name;
      select.add(new Option(name ? `${name} (${ordinal})` : String(ordinal), String(ordinal)));
    }
    select.addEventListener("change", () => showLevel(Number(select.value)));
    showLevel(ordinals.includes(0) ? 0 : ordinals[0]);
    select.value = String(state.level);
  }

  function label(feature) { return feature.properties.name || feature.properties.category || feature.id; }

  function selectRoom(feature) {
    if (!state.from || state.to) { state.from = feature; state.to = null; state.route = null; }
    else { state.to = feature; }
    $("endpoints").textContent = state.to
      ? `From ${label(state.from)} to ${label(state.to)}`
      : `From ${label(state.from)}: now pick the destination.`;
    if (state.to) requestRoute();
    else { routeLayer.clearLayers(); $("steps").replaceChildren(); }
  }
  state.selectRoom = selectRoom;

  async function requestRoute() {
    const profile = $("step-free").checked ? "step_free" : "default";
    status("routing…");
    const response = await fetch("/api/route/", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ from: { room: state.from.id }, to: { room: state.to.id }, profile }),
    });
    const body = await response.json();
    if (!response.ok) {
      state.route = null;
      routeLayer.clearLayers();
      $("steps").replaceChildren(Object.assign(document.createElement("li"), { textContent: body.detail }));
      status(`no route (${body.error})`);
      document.body.dataset.route = "none";
      return;
    }
    state.route = body;
    drawRoute();
    $("steps").replaceChildren(...body.steps.map((s) => Object.assign(document.createElement("li"), { textContent: s.instruction })));
    status(`${body.total_m} m, ${Math.round(body.duration_s)} s (${body.profile})`);
    document.body.dataset.route = body.profile;
  }

  function drawRoute() {
    routeLayer.clearLayers();
    if (!state.route) return;
    for (const segment of state.route.segments) {
      const here = segment.level === state.level;
      L.geoJSON(segment.geometry, {
        style: { color: here ? "#d84315" : "#ff8a65", weight: here ? 5 : 3, dashArray: here ? null : "6 6" },
      }).addTo(routeLayer);
    }
  }

  let searchTimer = null;
  $("search").addEventListener("input", () => {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(search, 200);
  });
  async function search() {
    const q = $("search").value.trim();
    const list = $("results");
    if (!q) { list.replaceChildren(); return; }
    const response = await fetch(`/api/rooms/?limit=8&q=${encodeURIComponent(q)}`);
    if (!response.ok) { list.replaceChildren(); return; }
    const page = await response.json();
    list.replaceChildren(...page.features.map((feature) => {
      const item = document.createElement("li");
      item.textContent = `${label(feature)} — level ${feature.properties.level_short_name || feature.properties.level}`;
      item.dataset.room = feature.id;
      item.addEventListener("click", () => {
        list.replaceChildren();
        $("search").value = "";
        if (feature.properties.level !== state.level) {
          $("level").value = String(feature.properties.level);
          showLevel(feature.properties.level);
        }
        const [lon, lat] = feature.properties.label_point || [];
        if (lon !== undefined) map.setView([lat, lon], Math.max(map.getZoom(), 19));
        selectRoom(feature);
      });
      return item;
    }));
  }

  $("step-free").addEventListener("change", () => { if (state.from && state.to) requestRoute(); });
  $("clear").addEventListener("click", () => {
    state.from = state.to = state.route = null;
    routeLayer.clearLayers();
    $("steps").replaceChildren();
    $("endpoints").textContent = "Click two rooms (or pick them from the search) to get a route.";
    delete document.body.dataset.route;
  });

  loadLevels().catch((error) => status(`failed: ${error}`));
})();
