"""What kplanediag knows, as data: finding codes, distribution profiles, policy thresholds."""
