// SpotOn live dashboard: camera tiles with boxes and global ids, the floor plan with trails and a
// heatmap, zone counts. No external code; talks to the API and /ws/tracking with a bearer token.
"use strict";
(() => {
  const API = "/api/v1";
  const $ = (id) => document.getElementById(id);
  const params = new URLSearchParams(location.hash.slice(1));
  history.replaceState(null, "", location.pathname); // keep the token out of history and screenshots
  let token = params.get("token") || sessionStorage.getItem("spoton-token");
  const state = { frames: 0, people: new Set(), tiles: {}, trails: new Map(), heat: new Map(), zones: [],
                  peak: {}, size: [640, 360], bounds: [0, 0, 31, 10] };

  const api = async (path) => {
    const response = await fetch(API + path, { headers: { Authorization: `Bearer ${token}` } });
    if (!response.ok) throw new Error(`${path}: ${response.status}`);
    return response.json();
  };
  const setStatus = (text, kind) => { $("status").textContent = text; $("status").dataset.state = kind; };
  const colour = (id) => `hsl(${(id * 137) % 360} 70% 45%)`;

  function inside(poly, x, y) {
    let hit = false;
    for (let i = 0, j = poly.length - 1; i < poly.length; j = i++) {
      const [xi, yi] = poly[i], [xj, yj] = poly[j];
      if ((yi > y) !== (yj > y) && x < xi + ((y - yi) * (xj - xi)) / (yj - yi)) hit = !hit;
    }
    return hit;
  }

  function tile(camera) {
    if (!state.tiles[camera]) {
      const box = document.createElement("div");
      box.className = "tile";
      box.dataset.camera = camera;
      const canvas = document.createElement("canvas");
      [canvas.width, canvas.height] = state.size;
      const label = document.createElement("span");
      label.textContent = camera;
      box.append(canvas, label);
      $("tiles").append(box);
      state.tiles[camera] = canvas.getContext("2d");
    }
    return state.tiles[camera];
  }

  function floorXY(x, y) {
    const canvas = $("floor");
    const [x0, y0, x1, y1] = state.bounds;
    return [((x - x0) / (x1 - x0)) * canvas.width, ((y - y0) / (y1 - y0)) * canvas.height];
  }

  function drawFloor() {
    const ctx = $("floor").getContext("2d");
    ctx.clearRect(0, 0, ctx.canvas.width, ctx.canvas.height);
    const peak = Math.max(1, ...state.heat.values());
    for (const [key, n] of state.heat) {
      const [cx, cy] = key.split(",").map(Number);
      const [px, py] = floorXY(cx * 0.5, cy * 0.5);
      const [qx, qy] = floorXY(cx * 0.5 + 0.5, cy * 0.5 + 0.5);
      ctx.fillStyle = `rgba(239, 68, 68, ${0.1 + 0.6 * (n / peak)})`;
      ctx.fillRect(px, py, qx - px, qy - py);
    }
    ctx.strokeStyle = "#555";
    for (const zone of state.zones) {
      ctx.beginPath();
      zone.polygon.forEach(([x, y], i) => (i ? ctx.lineTo : ctx.moveTo).call(ctx, ...floorXY(x, y)));
      ctx.closePath();
      ctx.stroke();
    }
    for (const [id, trail] of state.trails) {
      ctx.strokeStyle = colour(id);
      ctx.beginPath();
      trail.forEach(([x, y], i) => (i ? ctx.lineTo : ctx.moveTo).call(ctx, ...floorXY(x, y)));
      ctx.stroke();
    }
  }

  function renderZones(now) {
    const body = $("zones").tBodies[0];
    body.replaceChildren(...state.zones.map((zone) => {
      const row = document.createElement("tr");
      row.dataset.zone = zone.name;
      for (const text of [zone.name, now[zone.name] || 0, state.peak[zone.name] || 0]) {
        const cell = document.createElement("td");
        cell.textContent = text;
        row.append(cell);
      }
      return row;
    }));
  }

  function onFrame(message) {
    state.frames += 1;
    const cameras = {};
    const now = {};
    const counted = new Set();
    for (const t of message.tracks) {
      (cameras[t.camera] ||= []).push(t);
      state.people.add(t.global_id);
      if (!t.floor) continue;
      const [x, y] = t.floor;
      const trail = state.trails.get(t.global_id) || [];
      trail.push([x, y]);
      if (trail.length > 60) trail.shift();
      state.trails.set(t.global_id, trail);
      const cell = `${Math.floor(x / 0.5)},${Math.floor(y / 0.5)}`;
      state.heat.set(cell, (state.heat.get(cell) || 0) + 1);
      for (const zone of state.zones) {
        const key = `${zone.name}:${t.global_id}`; // one person seen by two cameras counts once
        if (!counted.has(key) && inside(zone.polygon, x, y)) {
          counted.add(key);
          now[zone.name] = (now[zone.name] || 0) + 1;
        }
      }
    }
    for (const [name, n] of Object.entries(now)) state.peak[name] = Math.max(state.peak[name] || 0, n);
    for (const [camera, tracks] of Object.entries(cameras)) {
      const ctx = tile(camera);
      ctx.fillStyle = "#222";
      ctx.fillRect(0, 0, ctx.canvas.width, ctx.canvas.height);
      ctx.lineWidth = 2;
      ctx.font = "14px sans-serif";
      for (const t of tracks) {
        const [x1, y1, x2, y2] = t.bbox;
        ctx.strokeStyle = ctx.fillStyle = colour(t.global_id);
        ctx.strokeRect(x1, y1, x2 - x1, y2 - y1);
        ctx.fillText(`#${t.global_id}`, x1, Math.max(12, y1 - 3));
      }
    }
    $("frames").textContent = state.frames;
    $("people").textContent = state.people.size;
    renderZones(now);
    drawFloor();
  }

  async function replay(taskId) {
    // A finished task: draw what was stored, frame by frame.
    const data = await api(`/tasks/${taskId}/detections?limit=10000`);
    const frames = new Map();
    for (const d of data.items) {
      const list = frames.get(d.frame) || [];
      list.push({ ...d, global_id: d.global_person_id });
      frames.set(d.frame, list);
    }
    for (const [frame, tracks] of [...frames].sort((a, b) => a[0] - b[0])) onFrame({ frame, tracks });
  }

  async function open(taskId) {
    const task = await api(`/tasks/${taskId}`);
    if (task.params.width) state.size = [task.params.width, task.params.height];
    if (task.environment_id) {
      const env = await api(`/environments/${task.environment_id}`);
      state.zones = env.zones;
      const xs = env.zones.flatMap((z) => z.polygon.map((p) => p[0]));
      const ys = env.zones.flatMap((z) => z.polygon.map((p) => p[1]));
      if (xs.length) state.bounds = [Math.min(...xs) - 2, Math.min(...ys) - 2, Math.max(...xs) + 2, Math.max(...ys) + 2];
    }
    renderZones({});
    if (["completed", "stopped", "failed"].includes(task.status)) {
      await replay(taskId); // nothing live to wait for
      setStatus(`ended: ${task.status}`, "ended");
      return;
    }
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const ws = new WebSocket(`${scheme}://${location.host}/ws/tracking/${taskId}?token=${encodeURIComponent(token)}`);
    ws.onmessage = async (event) => {
      const message = JSON.parse(event.data);
      if (message.type === "hello") {
        setStatus(message.status, "live");
        if (["completed", "stopped", "failed"].includes(message.status)) await replay(taskId);
      } else if (message.type === "frame") {
        onFrame(message);
      } else if (message.type === "end") {
        setStatus(`ended: ${message.status}`, "ended");
      }
    };
    ws.onclose = (event) => { if (event.code >= 4000) setStatus(`refused (${event.code})`, "error"); };
  }

  async function start() {
    try {
      const tasks = await api("/tasks?limit=50");
      const wanted = params.get("task");
      if (wanted) return open(wanted);
      $("task").replaceChildren(...tasks.map((t) => new Option(`${t.id.slice(0, 8)} ${t.source} ${t.status}`, t.id)));
      $("picker").hidden = false;
      $("open").onclick = () => open($("task").value);
    } catch (error) {
      setStatus(String(error), "error");
    }
  }

  $("login").onsubmit = async (event) => {
    event.preventDefault();
    const form = new FormData(event.target);
    const response = await fetch(`${API}/auth/token`, {
      method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ username: form.get("username"), password: form.get("password") }),
    });
    if (!response.ok) { $("login-error").textContent = "wrong username or password"; return; }
    token = (await response.json()).access_token;
    sessionStorage.setItem("spoton-token", token);
    $("login").hidden = true;
    start();
  };

  if (token) start(); else $("login").hidden = false;
})();
