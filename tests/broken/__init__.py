"""The broken-API-server suite: kplanediag against fake API servers, kubeconfigs and inputs that fail."""
