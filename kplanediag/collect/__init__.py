"""The only package that talks to the Kubernetes API: a few paginated list calls and three health
endpoints, read as raw JSON and text, assembled into a Snapshot."""
