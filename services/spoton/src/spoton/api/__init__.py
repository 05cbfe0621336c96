"""HTTP and WebSocket routers; `spoton.app.create_app` mounts them under API_V1_PREFIX."""
