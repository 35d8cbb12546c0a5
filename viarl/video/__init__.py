"""Video frames: decode candidates, draw indices, cache decoded frames, contact sheets."""

from viarl.video.cache import FrameCache
from viarl.video.candidates import Candidates, load_candidates
from viarl.video.decode import VideoInfo, candidate_indices, probe, read_frames, video_problem
from viarl.video.overlay import OVERLAY_VERSION, draw_index
from viarl.video.sheet import contact_sheet

__all__ = [
    "Candidates",
    "FrameCache",
    "OVERLAY_VERSION",
    "VideoInfo",
    "candidate_indices",
    "contact_sheet",
    "draw_index",
    "load_candidates",
    "probe",
    "read_frames",
    "video_problem",
]
