"""Benchmarks: ``bench.offline`` (analysis on a synthetic 5,000-node cluster, no cluster needed) and
``bench.live`` (kplanediag against a real kwok cluster of 1,000 nodes and up to 30,000 pods, side by
side with kubectl and the cost of the bare reads). ``make bench`` runs both; figures go to
``bench/results/``."""
