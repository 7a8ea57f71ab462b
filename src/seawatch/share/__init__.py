"""Federation: what leaves this node, to whom, and the proof of it.

In: the node's keys and pinned peers (:mod:`.keys`, :mod:`.peers`), records read from the
store through the label-enforcing query layer. Out: signed, append-only audit log entries
(:mod:`.merkle`, :mod:`.note`, :mod:`.log`: RFC 6962/9162 Merkle hashing and C2SP signed
checkpoints) that any partner can verify with their own code; sealed bundles
(:mod:`.bundle`, :mod:`.receive`), incremental releases kept for resending (:mod:`.outbox`),
retractions (:mod:`.retract`), sync over HTTP between nodes authenticated by their keys
(:mod:`.httpsig`, :mod:`.sync`), and witnessing: partners cosign each other's checkpoints
and catch an origin showing them two histories (:mod:`.witness`). See docs/federation.md.
"""
