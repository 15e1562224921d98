"""The only package that talks to the Kubernetes API: three health endpoints and a few paginated
lists, read as protobuf (JSON where the server does not serve it), decoded into a typed Snapshot.

Nothing here is imported by ``--version``, ``--help`` or ``--from`` analysis: urllib3 and the
protobuf runtime load only when a live collection starts. Kubeconfigs are read by kubeconfig_load.py.
"""
