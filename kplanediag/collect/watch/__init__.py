"""Lists kept current by watches between checks (serve): one informer per kind, and the cache of them."""
