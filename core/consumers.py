from channels.generic.websocket import JsonWebsocketConsumer


class PingConsumer(JsonWebsocketConsumer):
    """A liveness check for the websocket stack: authenticated users only, answers pings."""

    def connect(self):
        if not self.scope["user"].is_authenticated:
            self.close(code=4401)
            return
        self.accept()

    def receive_json(self, content, **kwargs):
        if content.get("type") == "ping":
            self.send_json({"type": "pong", "user": self.scope["user"].username})
        else:
            self.send_json({"type": "error", "detail": "unknown message type"})
