"""Who receives whose media. The walking skeleton's rule; the full matrix comes with issue 3.

A pure function: `signaling` asks, then moves forwarders.
"""

from __future__ import annotations

from hearing.lobby import Admission
from hearing.model import Participant


def may_receive(
    viewer: Participant,
    viewer_admission: Admission | None,
    publisher: Participant,
    publisher_admission: Admission | None,
) -> bool:
    """Admitted participants see and hear every other admitted participant. People in the
    lobby, and denied people, receive and send nothing."""
    return (
        viewer.id != publisher.id
        and viewer_admission is Admission.ADMITTED
        and publisher_admission is Admission.ADMITTED
    )
