"""The data plane: nodes (kubelet, container runtime), node add-ons (kube-proxy, CNI) and cluster DNS."""
