"""The study API's request and response models: what /docs shows and what is validated.

Every field is strict (pydantic would otherwise take `1` for true and `"3"` for 3):
`consent: 1` and a Likert `"3"` are refused with a 422 naming the field.
"""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, field_validator

from contemo.emotions import EMOTIONS
from contemo.serve.study.settings import ID_PATTERN
from contemo.serve.study.store import LIKERT_MAX, LIKERT_MIN

PARAM_VALUE = re.compile(r"^[A-Za-z0-9_.:@-]{1,128}$")  # ids of Prolific, MTurk, a lab
MAX_RT_MS = 3_600_000  # an hour on one image: anything longer is not a response time
GENDERS = ("female", "male", "non-binary", "self-described", "prefer not to say")


class Join(BaseModel):
    """Consent, the study's entry key (from the link) and the recruitment platform's ids."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"consent": True, "entry_key": "k3Yt…", "params": {"PROLIFIC_PID": "5f1e…"}}]})
    consent: StrictBool = Field(description="True: the participant agrees to take part.")
    entry_key: str | None = Field(None, max_length=100,
                                  description="The study's entry key (?key= in the link).")
    params: dict[str, str] = Field(default_factory=dict, max_length=20,
                                   description="URL parameters of the study link, e.g. "
                                               "PROLIFIC_PID; only the configured ones are kept.")

    @field_validator("consent")
    @classmethod
    def _agreed(cls, consent: bool) -> bool:
        if consent is not True:
            raise ValueError("consent must be true to take part")
        return consent

    @field_validator("params")
    @classmethod
    def _ids(cls, params: dict[str, str]) -> dict[str, str]:
        for name, value in params.items():
            if len(name) > 40 or not PARAM_VALUE.match(value):
                raise ValueError(f"{name[:40]}: expected 1-128 letters, digits or _.:@-")
        return params


class Answer(BaseModel):
    """Ratings of one image: emotion -> Likert value (1 = strongly agree ... 5 = strongly disagree)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"image_id": "0123456789ab", "ratings": {"happy": 1, "sad": 5}, "rt_ms": 5300}]})
    image_id: str = Field(pattern=ID_PATTERN.pattern, description="The image rated.")
    ratings: dict[str, StrictInt] = Field(min_length=1, max_length=len(EMOTIONS),
                                          description="Emotion -> Likert value 1-5.")
    rt_ms: StrictInt | None = Field(None, ge=0, le=MAX_RT_MS,
                                    description="Client-measured ms from the face appearing "
                                                "to this answer.")

    @field_validator("ratings")
    @classmethod
    def _likert(cls, ratings: dict[str, int]) -> dict[str, int]:
        for emotion, value in ratings.items():
            if emotion not in EMOTIONS:
                raise ValueError(f"unknown emotion {emotion[:40]!r}: expected one of "
                                 f"{', '.join(EMOTIONS)}")
            if not LIKERT_MIN <= value <= LIKERT_MAX:
                raise ValueError(f"{emotion}: Likert value must be an integer "
                                 f"{LIKERT_MIN}-{LIKERT_MAX}, got {value}")
        return ratings


class Demographics(BaseModel):
    """Optional answers about the participant (each may be null: prefer not to say)."""

    model_config = ConfigDict(extra="forbid")
    age: StrictInt | None = Field(None, ge=18, le=120, description="Age in years.")
    gender: str | None = Field(None, description=f"One of {', '.join(GENDERS)}.")

    @field_validator("gender")
    @classmethod
    def _gender(cls, gender: str | None) -> str | None:
        if gender is not None and gender not in GENDERS:
            raise ValueError(f"expected one of {', '.join(GENDERS)}")
        return gender


class Session(BaseModel):
    """Where a participant stands."""

    order: list[str] = Field(description="Image ids in this participant's order.")
    rows: dict[str, list[str]] = Field(description="Per image: the emotion rows in the order "
                                                   "shown.")
    instructions: dict[str, str] = Field(description="Extra instructions of some pages.")
    practice: list[str] = Field(description="Practice image ids, shown first, not stored.")
    ask_demographics: bool
    answers: dict[str, dict[str, int]] = Field(description="Ratings given so far.")
    position: int = Field(description="Index in `order` of the first image not fully rated.")
    total: int
    completed: bool
    completion_code: str | None = None
    redirect: str | None = Field(None, description="Where to go after completing.")


class Exclusion(BaseModel):
    """The researcher's decision about one participant."""

    model_config = ConfigDict(extra="forbid")
    excluded: StrictBool
    reason: str = Field("", max_length=200)


class Enrolment(BaseModel):
    """Open or pause enrolment of new participants."""

    model_config = ConfigDict(extra="forbid")
    open: StrictBool
