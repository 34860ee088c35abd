"""Finding every person in a photo and their soft mask, from five MediaPipe models and MoveNet.

1. The selfie segmenter sees the whole photo (``first look``): it finds people who fill the frame, even
   from behind, and paints a rough map of everyone else.
2. The pose detector looks through squares of the photo (:func:`detection_views`) and frames each person
   it finds as the landmark model expects; there the landmark model segments them. The face detector
   gives a second opinion on the head.
3. Each region of the first look that fits well inside the frame is looked at again, framed closely.
4. Where the people kept cover little of the frame (``group_look_below``), the face detector searches the
   photo square by square for faces too small for the first looks (a group, a crowd, a street); under each
   face the face mesh confirms, the pose detector looks at the head and shoulders and the landmark model
   segments the person it finds there, or else the selfie segmenter looks at the head and shoulders and the
   body (the group look).

Each :class:`PersonCandidate` carries the evidence for it; :class:`FinderSettings` says which to keep. MoveNet's
whole-body poses (:mod:`hamagan.segmentation.multipose`) check the people whom nothing else confirms
(:func:`hamagan.segmentation.posed_people`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import cv2
import numpy as np

from hamagan.segmentation.body import BodySegmenter
from hamagan.segmentation.detector import PersonDetection, PoseDetector, detection_views, merge_apart
from hamagan.segmentation.face import HEAD_MARGIN, FaceDetector, face_views
from hamagan.segmentation.multipose import MultiPose, best_score_on
from hamagan.segmentation.regions import Region
from hamagan.segmentation.selfie import SelfieSegmenter

Box = tuple[int, int, int, int]
FaceMask = tuple[np.ndarray, Box, np.ndarray | None]  # a group-look person's values over box, and to paint with
CLOSE_MARGIN = 1.25  # side of the close look / the region's longer side
REGION_MARGIN = 1.1  # side of the square searched for a selfie region's face / the region's longer side
CLOSE_LOOK_BELOW = 0.6  # regions longer than this share of the frame's short side are not looked at again
FACE_TILE = 200  # side of the squares searched for faces in the group look (pixels at the finder's 640)
# The group look's squares under a face: (side, centre below the face's), in face sizes.
CLOSE_FRAMING = (6.0, 1.5)  # head and shoulders, as the selfie segmenter was made for
BODY_FRAMING = (12.0, 4.5)  # a whole standing body
CLOSE_POSE_MARGINS = (1.1, 1.5)  # sides of the pose detector's close looks at a person / their box's longer side
FACE_ON_HEAD = 0.75  # the most a pose detection's head centre may lie from a face's centre, in face sizes
POSE_TILES = (160, 224)  # the tile look's squares (pixels at the finder's 640): 1.4 and 1 times the detector's 224
ALONE_SIDE = 2.0  # the side of MoveNet's look at a tile-look person, in their mask's longer sides


@dataclass
class PersonCandidate:
    """A possible person: their probability over ``box`` (top, bottom, left, right) and the evidence."""

    source: str  # "pose", "selfie" or "face" (the group look)
    probability: np.ndarray
    box: Box
    detection: float  # pose detector score (0 for selfie and face candidates)
    presence: float  # landmark model's pose presence (0 for selfie candidates)
    head: np.ndarray  # where to look for a face (x0, y0, x1, y1): the detector's head box, a region's box, the face
    agreement: float  # selfie candidates: IoU of the close look's mask with the first look's (0 for pose)
    confidence: float  # mean probability over the mask
    uncertain: float  # pixels with 0.2 < p < 0.8 per mask pixel
    area: float  # mask pixels / frame pixels
    face: float | None = None  # the face detector's score around the head, once asked
    faces: int = 0  # face candidates: the group look's faces on the mask (its own and those it covers)
    painted: np.ndarray | None = None  # what the people's map shows instead of ``probability``, where it differs
    multipose: float | None = None  # MoveNet's best pose on the mask in a square around the candidate, once asked

    @property
    def shown(self) -> np.ndarray:
        """The probability the people's map is painted with (``probability`` decides)."""
        return self.probability if self.painted is None else self.painted

    def mask_pixels(self) -> int:
        return int(cv2.countNonZero((self.probability > 0.5).view(np.uint8)))


@dataclass(frozen=True)
class FinderSettings:
    """Which candidates count as people.

    A pose candidate needs the detector's and the landmark model's confidence (or, below
    ``min_detection``, a face confirmed by the face mesh where its head is: a group, someone far away),
    and a second opinion: a face where its head is, or a selfie region that confirms it, unless both scores
    reach ``strong_detection`` and ``strong_presence`` and its mask is clean (a person at 4% of the frame,
    whose face is too small and whom the selfie segmenter misses: 0.94-0.99 and 0.99; the most person-like thing
    among the person-free photos these settings were chosen on, a wooden bird, 0.88 and 0.99). A selfie region
    alone must be confident, cleanly edged and stable when looked at again, and, unless it covers at most
    ``unsupported_area`` of the frame, hold a face or the head of a pose detection of at least
    ``min_support`` (the selfie segmenter alone paints an apple, a baboon or a chick that fills the frame
    as a person; a person standing in a scene, whose face may be too small, turned away or blurred, fills
    less of it). A region larger than ``unsupported_area`` on which people of the pose detector stand is
    left out where their masks cover less than ``min_pose_cover`` of it: it paints the scene around them
    (0.15-0.29 of such regions were theirs; a region holding two people, one of them without a pose, 0.38).
    The group look runs where the people kept cover less than ``group_look_below`` of the frame, or where the
    first look paints at least ``group_look_unexplained`` of it as people that none of them covers.
    A face candidate of the group look needs a clear face (``min_group_face``: the lower of the
    detector's and the face mesh's scores; a motorcycle's headlight scores 0.53) and a confident mask on it.
    A person whom no face and no pose detection of ``min_detection`` confirms is kept only where the pose
    detector, looking again at squares framed closely on them (:data:`CLOSE_POSE_MARGINS`), finds a person
    whose head lies on their mask with at least ``min_close_pose`` (a man seen from behind: 0.51; a flower, a
    butterfly, fruit, a box: at most 0.24).
    A person whom no face and no pose detection of ``strong_detection`` confirms must also have a MoveNet pose of
    at least ``min_multipose`` on their mask (None: no such check). The MediaPipe models take a calf, a duck, a
    heron or dandelion seeds for a person; MoveNet scores most of them below 0.2 (not all: a macaque 0.25, a
    penguin 0.45), and the real people of the photo pool whom nothing else confirms 0.29-0.62; blurred faces
    pay (benchmarks/README.md, "An animal-versus-person cue from the npm registry").
    The tile look keeps a detection below ``strong_detection`` (down to ``tile_detection``) whose landmark model is
    as sure and whose mask as clean as :meth:`strong` asks, where MoveNet, looking at a square around them, finds a
    pose of at least ``tile_multipose`` on their mask (None: no such look): two hooded walkers seen from behind on a
    beach, 0.85 / 0.57 and 0.48 / 0.55; on the person-free photos these settings were chosen on, MoveNet's best
    there was 0.30 (a long-nosed monkey, a palace).
    With ``tile_look_unexplained`` set (None: off), the tile look also runs beside the people kept where the first
    look paints at least that share of the frame as people that none of them covers (0.005, ``min_area``'s value,
    found a small second person in 3 of 45 validation pairs over the photo pool, but cost a photo with two people
    and a flower that the first look paints in part 240 ms at 1920x1080: benchmarks/README.md, "The tile look
    beside people already found").
    """

    min_detection: float = 0.6
    min_presence: float = 0.5
    min_face: float = 0.5
    min_support: float = 0.2
    min_overlap: float = 0.3
    confirm_confidence: float = 0.8
    confirm_uncertain: float = 0.5
    alone_confidence: float = 0.93
    alone_uncertain: float = 0.35
    alone_agreement: float = 0.5
    unsupported_area: float = 0.25
    min_area: float = 0.005
    max_area: float = 0.85
    group_look_below: float = 0.15
    group_look_unexplained: float = 0.15
    min_group_face: float = 0.7
    min_close_pose: float = 0.375
    strong_detection: float = 0.9
    strong_presence: float = 0.9
    min_pose_cover: float = 0.35
    min_multipose: float | None = 0.2
    tile_detection: float = 0.4
    tile_multipose: float | None = 0.4
    tile_look_unexplained: float | None = None

    def confirms(self, candidate: PersonCandidate) -> bool:
        """A selfie region good enough to confirm a pose candidate."""
        return (candidate.source == "selfie" and candidate.confidence >= self.confirm_confidence
                and candidate.uncertain <= self.confirm_uncertain)

    def alone(self, candidate: PersonCandidate) -> bool:
        """A selfie region good enough to be a person by itself."""
        return (candidate.source == "selfie" and self.min_area <= candidate.area <= self.max_area
                and candidate.confidence >= self.alone_confidence and candidate.uncertain <= self.alone_uncertain
                and candidate.agreement >= self.alone_agreement)

    def select(self, candidates: list[PersonCandidate], face_score: Callable[[PersonCandidate], float]
               ) -> list[PersonCandidate]:
        """The candidates that are people; ``face_score`` is asked only for candidates that nothing
        else confirms, and its answer kept in their ``face``."""
        confirming = [c for c in candidates if self.confirms(c)]
        people = []
        for c in candidates:
            if c.source != "pose" or not self.min_area <= c.area <= self.max_area:
                continue
            weak = c.detection < self.min_detection and (c.face is None or c.face < self.min_face)
            if weak or c.presence < self.min_presence:
                continue
            if (self.strong(c) or any(_covered(c, [other]) >= self.min_overlap for other in confirming)
                    or self._has_face(c, face_score)):
                people.append(c)
        heads = [c for c in candidates if c.source == "pose" and c.detection >= self.min_support]
        posed = list(people)
        for c in candidates:
            if not self.alone(c):
                continue
            if (c.area > self.unsupported_area and any(_holds_head(c, p) for p in posed)
                    and _covered(c, posed) < self.min_pose_cover):
                continue
            if (c.area <= self.unsupported_area or any(_holds_head(c, head) for head in heads)
                    or self._has_face(c, face_score)):
                people.append(c)
        return people

    def strong(self, candidate: PersonCandidate) -> bool:
        """A pose candidate sure enough to need no second opinion."""
        return candidate.detection >= self.strong_detection and self.clean_pose(candidate)

    def clean_pose(self, candidate: PersonCandidate) -> bool:
        """A pose candidate whose landmark model is sure of a person and whose mask is clean."""
        return (candidate.presence >= self.strong_presence and candidate.confidence >= self.confirm_confidence
                and candidate.uncertain <= self.confirm_uncertain)

    def posed(self, candidate: PersonCandidate) -> bool:
        """Whether MoveNet's look at the candidate alone (the tile look's) found their pose."""
        return (self.tile_multipose is not None and candidate.multipose is not None
                and candidate.multipose >= self.tile_multipose)

    def face_person(self, candidate: PersonCandidate) -> bool:
        """Whether a face candidate of the group look is a person."""
        x0, y0, x1, y1 = candidate.head
        return (candidate.source == "face" and candidate.face is not None and candidate.face >= self.min_group_face
                and candidate.confidence >= self.confirm_confidence and candidate.area <= self.max_area
                and _on_mask(candidate, (x0 + x1) / 2, (y0 + y1) / 2))

    def face_known(self, candidate: PersonCandidate) -> bool:
        """Whether the face detector, already asked, found a face where the candidate's should be."""
        return candidate.face is not None and candidate.face >= self.min_face

    def _has_face(self, candidate: PersonCandidate, face_score: Callable[[PersonCandidate], float]) -> bool:
        """Whether the face detector finds a face where the candidate's should be (asked once, kept)."""
        if candidate.face is None:
            candidate.face = face_score(candidate)
        return self.face_known(candidate)


def detected(group: list[PersonCandidate], min_score: float) -> bool:
    """Whether one of a person's candidates is a pose detection of at least ``min_score``."""
    return any(c.source == "pose" and c.detection >= min_score for c in group)


def unexplained(first_look: np.ndarray, people: list[PersonCandidate]) -> float:
    """Share of the frame that the first look (HxW) paints as people (above 0.5) and no one in ``people`` covers."""
    painted = unexplained_mask(first_look, people)
    return float(np.count_nonzero(painted) / painted.size)


def unexplained_mask(first_look: np.ndarray, people: list[PersonCandidate]) -> np.ndarray:
    """Where (HxW bool) the first look paints people (above 0.5) and no one in ``people`` covers."""
    painted = first_look > 0.5
    for c in people:
        top, bottom, left, right = c.box
        painted[top:bottom, left:right] &= c.probability <= 0.5
    return painted


def _holds_any(mask: np.ndarray, region: Region) -> bool:
    """Whether the square ``region`` holds a pixel of the HxW bool ``mask``."""
    bounds = region.bounds(*mask.shape)
    if bounds is None:
        return False
    top, bottom, left, right = bounds
    return bool(mask[top:bottom, left:right].any())


def _covered(candidate: PersonCandidate, others: list[PersonCandidate]) -> float:
    """Share of ``candidate``'s mask that the union of ``others``' masks covers."""
    top, bottom, left, right = candidate.box
    covered = np.zeros((bottom - top, right - left), bool)
    for other in others:
        other_top, other_bottom, other_left, other_right = other.box
        rows = slice(max(top, other_top), min(bottom, other_bottom))
        cols = slice(max(left, other_left), min(right, other_right))
        if rows.start < rows.stop and cols.start < cols.stop:
            theirs = other.probability[rows.start - other_top:rows.stop - other_top,
                                       cols.start - other_left:cols.stop - other_left]
            covered[rows.start - top:rows.stop - top, cols.start - left:cols.stop - left] |= theirs > 0.5
    mask = candidate.probability > 0.5
    pixels = np.count_nonzero(mask)
    return float(np.count_nonzero(mask & covered) / pixels) if pixels else 0.0


def group_box(candidates: list[PersonCandidate]) -> Box:
    """The box (top, bottom, left, right) that holds every candidate's box."""
    return (min(c.box[0] for c in candidates), max(c.box[1] for c in candidates),
            min(c.box[2] for c in candidates), max(c.box[3] for c in candidates))


def _on_mask(candidate: PersonCandidate, x: float, y: float) -> bool:
    """Whether the pixel at (x, y) lies on ``candidate``'s mask."""
    return _holds(candidate.probability, candidate.box, x, y)


def _holds(probability: np.ndarray, box: Box, x: float, y: float) -> bool:
    """Whether the pixel at (x, y) lies on the mask of ``probability`` over ``box``."""
    x, y = int(x), int(y)
    top, bottom, left, right = box
    return top <= y < bottom and left <= x < right and bool(probability[y - top, x - left] > 0.5)


def _under_face(face: np.ndarray, framing: tuple[float, float]) -> Region:
    """The square ``framing`` (its side, and its centre's drop below the face's centre, in face sizes) under
    ``face`` (x0, y0, x1, y1)."""
    x, y = (face[:2] + face[2:]) / 2
    size = float(max(face[2:] - face[:2]))
    side, drop = framing
    return Region((float(x), float(y + drop * size)), side * size)


def _holds_head(region: PersonCandidate, pose: PersonCandidate) -> bool:
    """Whether the centre of ``pose``'s head box lies on ``region``'s mask."""
    return _on_mask(region, (pose.head[0] + pose.head[2]) / 2, (pose.head[1] + pose.head[3]) / 2)


def same_person(a: PersonCandidate, b: PersonCandidate) -> bool:
    """Whether two candidates' masks overlap by a third of the smaller one (two faces of the group look are
    two people, however their bodies overlap)."""
    if a.source == b.source == "face":
        return False
    return max(_covered(a, [b]), _covered(b, [a])) >= 1 / 3


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    union = np.count_nonzero(a | b)
    return float(np.count_nonzero(a & b) / union) if union else 0.0


def _evidence(probability: np.ndarray, frame_pixels: int) -> tuple[float, float, float]:
    mask = probability > 0.5
    pixels = int(np.count_nonzero(mask))
    if pixels == 0:
        return 0.0, 0.0, 0.0
    uncertain = np.count_nonzero((probability > 0.2) & (probability < 0.8))
    return float(probability[mask].mean()), uncertain / pixels, pixels / frame_pixels


@dataclass
class PersonFinder:
    """The six models (the face detector holds two), loaded once, and the settings that choose among their
    candidates; images are HxWx3 float arrays in [0, 1]."""

    selfie: SelfieSegmenter = field(default_factory=SelfieSegmenter)
    detector: PoseDetector = field(default_factory=PoseDetector)
    body: BodySegmenter = field(default_factory=BodySegmenter)
    face: FaceDetector = field(default_factory=FaceDetector)
    multipose: MultiPose = field(default_factory=MultiPose)
    settings: FinderSettings = field(default_factory=FinderSettings)
    # Paint the selfie segmenter's masks with its probability averaged with that of the mirrored crop (one more
    # call a look); every decision still reads the plain probability that the settings were chosen on.
    mirror_selfie: bool = True
    # Where a person's masks disagree, keep a region only one of them holds unless its colours are the
    # background's (:func:`hamagan.segmentation.agreement.colour_vote`'s ``keep_above``; None: paint the union).
    # Chosen on composites over the photo pool's training and validation photos (benchmarks/README.md).
    colour_vote: float | None = 0.3
    # Where no one is kept, the pose detector looks again through small squares (:meth:`tile_candidates`,
    # run by :func:`hamagan.segmentation.find_people`).
    tile_look: bool = True
    # Where still no one is kept, the finder looks again at each side edge's strip beside its mirror image, for a
    # person cut by that edge (:mod:`hamagan.segmentation.edge`, run by ``find_people``).
    edge_look: bool = True

    def people(self, image: np.ndarray) -> list[PersonCandidate]:
        """The candidates that :attr:`settings` takes for people (:meth:`looked`)."""
        return self.looked(image)[1]

    def looked(self, image: np.ndarray) -> tuple[np.ndarray, list[PersonCandidate]]:
        """The selfie segmenter's first look (HxW) and the candidates that :attr:`settings` takes for people, with
        the people of the group look where those cover less than ``group_look_below`` of the frame, or where the
        first look paints at least ``group_look_unexplained`` of the frame as people that none of them covers (a
        group around a table: the pose detector finds two of six, and the selfie region holding all six is left
        out)."""
        image = np.asarray(image, np.float32)
        first_look, candidates = self.candidates(image)
        people = self.settings.select(candidates, lambda c: self.face_score(image, c))
        if (sum(c.area for c in people) < self.settings.group_look_below
                or unexplained(first_look, people) >= self.settings.group_look_unexplained):
            people += [c for c in self.face_candidates(image, people) if self.settings.face_person(c)]
        return first_look, people

    def tile_candidates(self, image: np.ndarray, near: np.ndarray | None = None) -> list[PersonCandidate]:
        """The tile look: the pose detector through overlapping squares of :data:`POSE_TILES` pixels, each
        detection of at least ``strong_detection`` segmented by the landmark model, and those :meth:`strong`
        by :class:`FinderSettings` (people whose faces are 10-20 px at the working size, whom the looks at the
        whole frame miss: players at the back of an orchestra, a passer-by under an arcade), and weaker detections
        down to ``tile_detection`` whom MoveNet's look at them alone finds posed (:meth:`FinderSettings.posed`).
        ``min_area`` does not apply: such people cover less of the frame than any person the other looks keep.
        With ``near`` (HxW bool), only the squares holding one of its pixels are looked through."""
        settings = self.settings
        height, width = image.shape[:2]
        views = [view for side in POSE_TILES if side < min(height, width)
                 for view in face_views(height, width, side) if near is None or _holds_any(near, view)]
        lowest = settings.strong_detection if settings.tile_multipose is None else settings.tile_detection
        people = []
        for detection in merge_apart(self.detector.unmerged(image, lowest, views), settings.strong_detection):
            c = self._pose_candidate(image, detection)
            if c is None or c.area > settings.max_area or not settings.clean_pose(c):
                continue
            if not settings.strong(c):
                c.multipose = self.pose_alone(image, c)
            if settings.strong(c) or settings.posed(c):
                people.append(c)
        return people

    def pose_alone(self, image: np.ndarray, candidate: PersonCandidate) -> float:
        """MoveNet's best pose on the candidate's mask in a square around it, :data:`ALONE_SIDE` times its longer
        side (at the whole frame's scale a person in a tile is a few dozen of MoveNet's 256 pixels)."""
        top, _, left, _ = candidate.box
        rows, columns = np.nonzero(candidate.probability > 0.5)
        if not len(rows):
            return 0.0
        rows, columns = rows + top, columns + left
        (first_row, last_row), (first_column, last_column) = (rows.min(), rows.max()), (columns.min(), columns.max())
        half = ALONE_SIDE * max(last_row - first_row, last_column - first_column) / 2 + 4
        centre_y, centre_x = (first_row + last_row) / 2, (first_column + last_column) / 2
        height, width = image.shape[:2]
        y0, x0 = max(int(centre_y - half), 0), max(int(centre_x - half), 0)
        y1, x1 = min(int(centre_y + half), height), min(int(centre_x + half), width)
        mask = np.zeros((y1 - y0, x1 - x0), bool)  # the square holds the whole mask: half is past its extent
        mask[rows - y0, columns - x0] = True
        return best_score_on(self.multipose(image[y0:y1, x0:x1]), mask)

    def _pose_candidate(self, image: np.ndarray, detection: PersonDetection, face: float | None = None
                        ) -> PersonCandidate | None:
        """A detection segmented by the landmark model in the square it frames (None where that lies outside)."""
        height, width = image.shape[:2]
        region = detection.body_region()
        presence, probability = self.body(image, region)
        pasted = region.paste(probability, height, width)
        if pasted is None:
            return None
        values, box = pasted
        return PersonCandidate("pose", values, box, detection.score, presence, detection.box, 0.0,
                               *_evidence(values, height * width), face)

    def face_candidates(self, image: np.ndarray, people: list[PersonCandidate]) -> list[PersonCandidate]:
        """The group look: under each face that the face detector, searching the photo square by square, and the
        face mesh both score at least ``min_group_face``, and that no one in ``people`` covers (a face on a
        person found here before it is counted in that one's ``faces``), the person's mask: the landmark
        model's where the pose detector, looking at the head and shoulders, finds them (:meth:`_pose_under_face`),
        else the selfie segmenter's (:meth:`_selfie_under_face`)."""
        height, width = image.shape[:2]
        out = []
        for score, face in self.face.find(image, face_views(height, width, FACE_TILE),
                                          self.settings.min_group_face):
            x, y = (face[:2] + face[2:]) / 2
            if any(_on_mask(c, x, y) for c in people):
                continue
            holder = next((o for o in out if self.settings.face_person(o) and _on_mask(o, x, y)), None)
            if holder is not None:
                holder.faces += 1
                continue
            mask = self._pose_under_face(image, face) or self._selfie_under_face(image, face)
            if mask is None:
                continue
            values, box, shown = mask
            out.append(PersonCandidate("face", values, box, 0.0, 0.0, face, 0.0, *_evidence(values, height * width),
                                       face=score, faces=1, painted=shown))
        return out

    def _pose_under_face(self, image: np.ndarray, face: np.ndarray) -> FaceMask | None:
        """The landmark model's mask of the person whose head the pose detector finds on ``face`` (x0, y0, x1,
        y1), looking at a head-and-shoulders square under it with at least ``min_detection``; None where it
        finds no one there, the landmark model's presence is below ``min_presence`` or the mask misses the face.
        Framed by the detection, the landmark model segments that person, not a neighbour in a tight group."""
        height, width = image.shape[:2]
        centre = (face[:2] + face[2:]) / 2
        size = float(max(face[2:] - face[:2]))
        for detection in self.detector(image, self.settings.min_detection, [_under_face(face, CLOSE_FRAMING)]):
            head = (detection.box[:2] + detection.box[2:]) / 2
            if np.hypot(*(head - centre)) > FACE_ON_HEAD * size:
                continue
            region = detection.body_region()
            presence, probability = self.body(image, region)
            pasted = region.paste(probability, height, width)
            if presence < self.settings.min_presence or pasted is None:
                return None
            values, box = pasted
            return (values, box, None) if _holds(values, box, *centre) else None
        return None

    def _selfie_under_face(self, image: np.ndarray, face: np.ndarray) -> FaceMask | None:
        """The selfie segmenter's mask of a head-and-shoulders square under ``face`` and, joined to it, what it
        paints in a square that frames a whole body (None where it paints nothing)."""
        (close, close_shown), (body, body_shown) = (self._selfie_map(image, _under_face(face, framing))
                                                    for framing in (CLOSE_FRAMING, BODY_FRAMING))
        _, labels = cv2.connectedComponents((body > 0.5).view(np.uint8))
        joined = np.isin(labels, np.unique(labels[(close > 0.5) & (labels > 0)]))
        probability = np.maximum(close, np.where(joined, body, 0.0))
        rows, cols = np.flatnonzero(probability.any(1)), np.flatnonzero(probability.any(0))
        if rows.size == 0:
            return None
        top, bottom, left, right = box = (int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1)
        values = np.ascontiguousarray(probability[top:bottom, left:right], np.float32)
        shown = None if close_shown is None else np.ascontiguousarray(
            np.maximum(close_shown, np.where(joined, body_shown, 0.0))[top:bottom, left:right], np.float32)
        return values, box, shown

    def _selfie_map(self, image: np.ndarray, region: Region) -> tuple[np.ndarray, np.ndarray | None]:
        """The selfie segmenter's probability over a square region, pasted into a frame-sized map, and the map
        to paint with (None without ``mirror_selfie``)."""
        height, width = image.shape[:2]

        def framed(crop: np.ndarray) -> np.ndarray:
            full = np.zeros((height, width), np.float32)
            pasted = region.paste(crop, height, width)
            if pasted is not None:
                values, (top, bottom, left, right) = pasted
                full[top:bottom, left:right] = values
            return full

        plain, shown = self._selfie_look(image, region)
        return framed(plain), None if shown is None else framed(shown)

    def _selfie_look(self, image: np.ndarray, region: Region | None = None
                     ) -> tuple[np.ndarray, np.ndarray | None]:
        """The selfie segmenter's probability over a square region at its input size (None: the whole image at
        its size), and, with ``mirror_selfie``, its average with the mirrored look's."""
        def look(mirror: bool) -> np.ndarray:
            return self.selfie(image, mirror) if region is None else self.selfie.in_region(image, region, mirror)

        plain = look(False)
        return plain, (plain + look(True)) / 2 if self.mirror_selfie else None

    def confirmed(self, image: np.ndarray, group: list[PersonCandidate]) -> bool:
        """Whether a person (a group of candidates) has a pose detection of at least ``min_detection``, a pose
        that MoveNet's look at them alone found, or a face the face mesh confirms (asked only when nothing else
        decides; answers kept in ``face``)."""
        return (detected(group, self.settings.min_detection) or any(self.settings.posed(c) for c in group)
                or self.has_face(image, group))

    def has_face(self, image: np.ndarray, group: list[PersonCandidate]) -> bool:
        """Whether the face mesh confirms a face on one of a person's candidates (each asked once, kept in
        ``face``)."""
        return any(self.settings._has_face(c, lambda c: self.face_score(image, c)) for c in group)

    def close_pose(self, image: np.ndarray, group: list[PersonCandidate]) -> float:
        """The pose detector's best score in squares framed closely on a person (a group of candidates) for a
        detection whose head lies on their mask; 0 when there is none."""
        top, bottom, left, right = group_box(group)
        best = 0.0
        for margin in CLOSE_POSE_MARGINS:
            view = Region(((left + right) / 2, (top + bottom) / 2), margin * max(bottom - top, right - left))
            for detection in self.detector.detect_in(image, view, self.settings.min_support):
                x, y = (detection.box[:2] + detection.box[2:]) / 2
                if detection.score > best and any(_on_mask(c, x, y) for c in group):
                    best = detection.score
        return best

    def face_score(self, image: np.ndarray, candidate: PersonCandidate) -> float:
        """The face detector's score where the candidate's face should be."""
        return self.face(image, candidate.head, HEAD_MARGIN if candidate.source == "pose" else REGION_MARGIN)

    def candidates(self, image: np.ndarray) -> tuple[np.ndarray, list[PersonCandidate]]:
        """The first look's probability (HxW) and every candidate, pose ones first (of detections below
        the settings' ``min_detection`` without a confirmed face at the head, only the head is kept, as
        support for selfie regions)."""
        image = np.asarray(image, np.float32)
        height, width = image.shape[:2]
        first_look, first_shown = self._selfie_look(image)
        found: list[PersonCandidate] = []
        for detection in self.detector(image, self.settings.min_support, detection_views(height, width)):
            face = None
            if detection.score < self.settings.min_detection:  # segmented only with a face where its head is
                face = self.face(image, detection.box, HEAD_MARGIN)
                if face < self.settings.min_face:  # only the head, as support for a selfie region
                    found.append(PersonCandidate("pose", np.zeros((0, 0), np.float32), (0, 0, 0, 0),
                                                 detection.score, 0.0, detection.box, 0.0, 0.0, 0.0, 0.0, face))
                    continue
            candidate = self._pose_candidate(image, detection, face)
            if candidate is not None:
                found.append(candidate)
        found.extend(self._selfie_candidates(image, first_look, first_shown, [c for c in found if c.area > 0]))
        return first_look, found

    def _selfie_candidates(self, image: np.ndarray, first_look: np.ndarray, first_shown: np.ndarray | None,
                           segmented: list[PersonCandidate]) -> list[PersonCandidate]:
        """Each region of the first look; those that could be a person by themselves, that no segmented pose
        candidate covers and that are small enough are looked at again, framed closely (``first_shown``: the
        first look to paint with, None to paint with ``first_look``)."""
        height, width = first_look.shape
        count, labels, stats, _ = cv2.connectedComponentsWithStats((first_look > 0.5).astype(np.uint8), connectivity=8)
        covered = np.zeros((height, width), bool)
        for candidate in segmented:
            top, bottom, left, right = candidate.box
            covered[top:bottom, left:right] |= candidate.probability > 0.5
        out = []
        for label in range(1, count):
            x, y, w, h, pixels = stats[label]
            if pixels < 0.001 * height * width:
                continue
            region = Region((x + w / 2, y + h / 2), CLOSE_MARGIN * max(w, h))
            bounds = np.array([x, y, x + w, y + h], np.float64)
            inside = labels[y:y + h, x:x + w] == label
            explained = np.count_nonzero(covered[y:y + h, x:x + w] & inside) >= 0.5 * pixels
            too_small = pixels < self.settings.min_area * height * width  # never a person by itself
            if explained or too_small or max(w, h) > CLOSE_LOOK_BELOW * min(height, width):
                box = (int(y), int(y + h), int(x), int(x + w))
                values = np.where(inside, first_look[y:y + h, x:x + w], 0.0).astype(np.float32)
                shown = None if first_shown is None else np.where(
                    inside, first_shown[y:y + h, x:x + w], 0.0).astype(np.float32)
                out.append(PersonCandidate("selfie", values, box, 0.0, 0.0, bounds, 1.0,
                                           *_evidence(values, height * width), painted=shown))
                continue
            plain, shown = self._selfie_look(image, region)
            pasted = region.paste(plain, height, width)
            if pasted is None:
                continue
            values, box = pasted
            top, bottom, left, right = box
            before = labels[top:bottom, left:right] == label
            out.append(PersonCandidate("selfie", values, box, 0.0, 0.0, bounds, _iou(values > 0.5, before),
                                       *_evidence(values, height * width),
                                       painted=None if shown is None else region.paste(shown, height, width)[0]))
        return out
