"""Real list responses of the lab cluster in JSON and protobuf (see capture.py)."""
