"""The bundles people attach to tickets (cluster-info dump, must-gather, troubleshoot.sh, sonobuoy),
read in place as a Snapshot."""

from kplanediag.snapshot.bundles.reader import FORMATS, read_bundle
from kplanediag.snapshot.bundles.stream import read_stream
from kplanediag.snapshot.bundles.tree import is_archive

# Directories or tar archives, detected by what their paths hold (one module per format), streamed member by
# member (tree.py) and decoded only where a member holds a kind kplanediag reads. kubectl cluster-info dump is
# read both as a stream and as a directory.
__all__ = ["FORMATS", "is_archive", "read_bundle", "read_stream"]
