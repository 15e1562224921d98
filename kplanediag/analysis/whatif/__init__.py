"""What if a node, a zone, a control-plane instance, a component or a webhook failed, or a node were
drained: the blast radius of a failure that has not happened, from the state already read."""

from kplanediag.analysis.whatif.engine import what_if
from kplanediag.analysis.whatif.hypotheses import HypothesisError
from kplanediag.analysis.whatif.risk import rank

# hypotheses.py parses them; edits.py makes them real in a copy of the snapshot; engine.py judges the copy
# with the same analysis; drain.py says a drain's verdict; risk.py ranks every node or zone.
__all__ = ["HypothesisError", "rank", "what_if"]
