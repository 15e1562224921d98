"""``kplanediag serve``'s long-running parts: the state the polling loop updates (state.py) and
the HTTP server that shows it (http.py). The click command is kplanediag/cli/serve.py."""
