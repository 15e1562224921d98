"""The bundles people attach to tickets, read in place as a Snapshot: kubectl cluster-info dump
(stream and directory), OpenShift must-gather, troubleshoot.sh support bundles and sonobuoy results,
directories or tar archives, detected by what their paths hold (one module per format), streamed
member by member (tree.py) and decoded only where a member holds a kind kplanediag reads."""

from kplanediag.snapshot.bundles.reader import FORMATS, read_bundle
from kplanediag.snapshot.bundles.stream import read_stream
from kplanediag.snapshot.bundles.tree import is_archive

__all__ = ["FORMATS", "is_archive", "read_bundle", "read_stream"]
