"""Request and response contracts, validated in one pass by pydantic-core (no pandas).

Records are ``TypedDict`` s so validation hands plain dicts to the model's pure-Python
features. Everything is strict: strings must be strings, numbers numbers (not booleans,
not numeric strings), unknown fields are refused, and each error names its field.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Annotated, Any, Literal, NotRequired, Required

from pydantic import AfterValidator, BaseModel, ConfigDict, Discriminator, Field, Tag, TypeAdapter
from pydantic import ValidationError as PydanticValidationError
from pydantic.json_schema import WithJsonSchema
from typing_extensions import TypedDict

from marvel_mlops.data.schema import NUMERIC_FEATURES
from marvel_mlops.model.features import INPUT_COLUMNS

STRICT = ConfigDict(extra="forbid", strict=True)
INVOCATION_COLUMNS = ("page_id", *INPUT_COLUMNS)
"""Columns ``/invocations`` accepts: the model signature's inputs plus ``page_id``."""
MAX_ERRORS = 20
"""Errors listed in one answer; the rest are only counted (``more_errors``)."""
MAX_PARAMS = 32
"""Keys accepted in MLflow's ``params`` object (the model uses none)."""

Text = Annotated[str | None, Field(max_length=10_000)]
Measure = Annotated[float | None, Field(ge=0, allow_inf_nan=False)]
PageId = Annotated[str, Field(min_length=1, max_length=512)]
# A cell of a column-oriented payload; its type is checked per column afterwards.
Cell = Annotated[
    Any, WithJsonSchema({"anyOf": [{"type": "string"}, {"type": "number"}, {"type": "null"}]})
]


def _finite_or_missing(value: float | None) -> float | None:
    """NaN (pandas' missing value, sent by MLflow clients) is missing; infinities are not."""
    if value is None or math.isnan(value):
        return None
    if math.isinf(value) or value < 0:
        raise ValueError("must be a finite number >= 0 (or null/NaN for missing)")
    return value


# MLflow clients serialise pandas frames with NaN for missing numbers: accept it there.
LenientMeasure = Annotated[
    float | None,
    AfterValidator(_finite_or_missing),
    WithJsonSchema({"anyOf": [{"type": "number", "minimum": 0}, {"type": "null"}]}),
]


def _attributes(name: str, measure: Any) -> type:
    """A TypedDict of the model's inputs, all optional: text, or ``measure`` for numbers."""
    fields = {c: measure if c in NUMERIC_FEATURES else Text for c in INPUT_COLUMNS}
    return TypedDict(name, fields, total=False)


_Attributes = _attributes("_Attributes", Measure)
_LenientAttributes = _attributes("_LenientAttributes", LenientMeasure)


class Character(_Attributes, total=False):
    """One character for ``/v1/predict``: ``page_id`` required, attributes optional."""

    __pydantic_config__ = STRICT
    page_id: Required[PageId]


class InvocationRecord(_LenientAttributes, total=False):
    """One row for ``/invocations``: the signature's columns, ``page_id`` optional."""

    __pydantic_config__ = STRICT
    page_id: NotRequired[PageId | None]


class ApiError(BaseModel):
    """One problem with the request."""

    field: str = Field(description="Where the problem is, e.g. records[0].height_m")
    problem: str


class ErrorResponse(BaseModel):
    """Every 4xx/5xx answer of this server."""

    error_code: str = Field(examples=["INVALID_INPUT"])
    message: str
    errors: list[ApiError] = Field(default_factory=list, description="the first 20 problems")
    more_errors: int | None = Field(
        default=None, description="how many further problems were found but not listed"
    )


class Prediction(BaseModel):
    """The model's answer for one record."""

    page_id: str
    probability: float = Field(ge=0, le=1, description="P(alive)")
    label: Literal[0, 1] = Field(description="1 alive, 0 dead (at the model's threshold)")
    model_version: str
    variant: Literal["champion", "challenger"]


class PredictResponse(BaseModel):
    """``/v1/predict`` answer, predictions in request order."""

    request_id: str
    predictions: list[Prediction]


class InvocationPrediction(BaseModel):
    """MLflow's pyfunc output row."""

    probability: float
    label: Literal[0, 1]
    model_version: str


class InvocationsResponse(BaseModel):
    """MLflow's scoring protocol answer: ``{"predictions": [...]}``."""

    predictions: list[InvocationPrediction]


class HealthResponse(BaseModel):
    """Liveness / readiness."""

    status: str
    champion_version: str | None = None
    challenger_version: str | None = None
    detail: str | None = Field(
        default=None, description="why not ready, or what is wrong while serving"
    )


class VersionResponse(BaseModel):
    """What is serving."""

    model_name: str
    champion_version: str | None
    challenger_version: str | None
    ab_challenger_share: float
    shadow: bool
    package_version: str
    mlflow_version: str


@dataclass(frozen=True)
class FieldProblem(Exception):
    """Bad input found after structural validation (shapes of column-oriented payloads)."""

    problems: tuple[tuple[str, str], ...]
    omitted: int = 0


@dataclass(frozen=True)
class RequestSchemas:
    """Request validators and their models, built for one ``max_records`` limit."""

    predict: TypeAdapter
    invocations: TypeAdapter
    records: TypeAdapter
    columns: dict[str, TypeAdapter]
    """One list validator per column, with the record fields' types (``dataframe_split``)."""


def request_schemas(max_records: int) -> RequestSchemas:
    """The request models with the configured record limit in their JSON schema."""
    Many = Field(min_length=1, max_length=max_records)  # noqa: N806
    Params = Annotated[dict[str, Any], Field(max_length=MAX_PARAMS)] | None  # noqa: N806
    Row = Annotated[list[Cell], Field(max_length=len(INVOCATION_COLUMNS))]  # noqa: N806

    class PredictRequest(BaseModel):
        """Typed records to score (at most the configured ``max_records``)."""

        model_config = STRICT
        records: Annotated[list[Character], Many]

    class DataframeSplit(BaseModel):
        """pandas ``orient='split'``: column names and rows, one value per column in each row."""

        model_config = STRICT
        columns: Annotated[
            list[Literal[INVOCATION_COLUMNS]],  # type: ignore[valid-type]
            Field(
                min_length=1,
                max_length=len(INVOCATION_COLUMNS),
                json_schema_extra={"uniqueItems": True},
            ),
        ]
        data: Annotated[
            list[Row],
            Many,
            Field(description="rows: one value per column, of that column's type"),
        ]
        index: Annotated[list[int | str], Field(max_length=max_records)] | None = None

    class DataframeSplitRequest(BaseModel):
        model_config = STRICT
        dataframe_split: DataframeSplit
        params: Params = None

    class DataframeRecordsRequest(BaseModel):
        model_config = STRICT
        dataframe_records: Annotated[list[InvocationRecord], Many]
        params: Params = None

    class InputsRequest(BaseModel):
        """Records, or columns of equal length."""

        model_config = STRICT
        inputs: Annotated[
            Annotated[Annotated[list[InvocationRecord], Many], Tag("inputs:records")]
            | Annotated[
                _columns_type(Many),
                Tag("inputs:columns"),
            ],
            Discriminator(
                _inputs_shape,
                custom_error_type="invalid_inputs",
                custom_error_message="'inputs' must be a list of records or an object of columns",
            ),
        ]
        params: Params = None

    union = Annotated[
        Annotated[DataframeSplitRequest, Tag("dataframe_split")]
        | Annotated[DataframeRecordsRequest, Tag("dataframe_records")]
        | Annotated[InputsRequest, Tag("inputs")],
        Discriminator(
            _payload_format,
            custom_error_type="invalid_format",
            custom_error_message=(
                "the body must be a JSON object with exactly one of "
                "'dataframe_split', 'dataframe_records' or 'inputs'"
            ),
        ),
    ]
    return RequestSchemas(
        predict=TypeAdapter(PredictRequest),
        invocations=TypeAdapter(union),
        records=TypeAdapter(list[InvocationRecord]),
        columns={c: TypeAdapter(list[t]) for c, t in COLUMN_TYPES.items()},
    )


def _payload_format(value: Any) -> str | None:
    if not isinstance(value, dict):
        return None
    found = [k for k in ("dataframe_split", "dataframe_records", "inputs") if k in value]
    return found[0] if len(found) == 1 else None


COLUMN_TYPES = {
    "page_id": PageId | None,
    **{c: LenientMeasure if c in NUMERIC_FEATURES else Text for c in INPUT_COLUMNS},
}
"""The type of one value of each ``/invocations`` column."""


def _columns_type(many: Any) -> type:
    """Column-oriented ``inputs``: each column a typed list (at least one column)."""

    # Functional form: the annotations must be evaluated here, where ``many`` is known.
    fields = {c: Annotated[list[COLUMN_TYPES[c]], many] for c in INVOCATION_COLUMNS}
    InputColumns = TypedDict("InputColumns", fields, total=False)  # type: ignore[misc]  # noqa: UP013
    InputColumns.__pydantic_config__ = ConfigDict(  # type: ignore[attr-defined]
        extra="forbid", strict=True, json_schema_extra={"minProperties": 1}
    )
    return InputColumns


def _inputs_shape(value: Any) -> str | None:
    if isinstance(value, list):
        return "inputs:records"
    return "inputs:columns" if isinstance(value, dict) else None


def invocation_records(payload: BaseModel, schemas: RequestSchemas) -> tuple[list[dict], str]:
    """The payload as plain record dicts, and the field prefix for error messages."""
    if hasattr(payload, "dataframe_records"):
        return payload.dataframe_records, "dataframe_records"
    if hasattr(payload, "dataframe_split"):
        split = payload.dataframe_split
        _check_split(split.columns, split.data)
        records = _typed_by_column(split.columns, split.data, schemas)
        if records is None:  # some value is wrong: validate row by row, for the messages
            rows = [dict(zip(split.columns, row, strict=True)) for row in split.data]
            records = _typed(rows, schemas, "dataframe_split.data")
        return records, "dataframe_split.data"
    if isinstance(payload.inputs, list):
        return payload.inputs, "inputs"
    columns = payload.inputs
    lengths = {name: len(values) for name, values in columns.items()}
    if len(set(lengths.values())) > 1:
        raise FieldProblem((("inputs", f"columns have different lengths: {lengths}"),))
    if not columns:
        raise FieldProblem((("inputs", "no columns given"),))
    names = list(columns)  # values already typed per column
    rows = [dict(zip(names, values, strict=True)) for values in zip(*columns.values(), strict=True)]
    return rows, "inputs"


def _check_split(columns: list[str], data: list[list[Any]]) -> None:
    duplicated = sorted({c for c in columns if columns.count(c) > 1})
    if duplicated:
        raise FieldProblem((("dataframe_split.columns", f"duplicated columns {duplicated}"),))
    for i, row in enumerate(data):
        if len(row) != len(columns):
            raise FieldProblem(
                (
                    (
                        f"dataframe_split.data[{i}]",
                        f"has {len(row)} values for {len(columns)} columns",
                    ),
                )
            )


def _typed_by_column(
    columns: list[str], data: list[list[Any]], schemas: RequestSchemas
) -> list[dict] | None:
    """Rows typed one column at a time (one validator call per column, not per row); None
    when a value is wrong. The records equal what ``_typed`` makes of the same rows."""
    try:
        typed = [
            schemas.columns[name].validate_python(list(values), strict=True)
            for name, values in zip(columns, zip(*data, strict=True), strict=True)
        ]
    except PydanticValidationError:
        return None
    return [dict(zip(columns, values, strict=True)) for values in zip(*typed, strict=True)]


def _typed(rows: list[dict], schemas: RequestSchemas, prefix: str) -> list[dict]:
    try:
        return schemas.records.validate_python(rows, strict=True)
    except PydanticValidationError as error:
        problems = field_problems(error, prefix)
        raise FieldProblem(problems, error.error_count() - len(problems)) from None


PROBLEMS = {
    "extra_forbidden": "unknown field",
    "missing": "required field is missing",
    "json_invalid": "invalid JSON",
    "literal_error": "unknown column",
}


def field_problems(
    error: PydanticValidationError, prefix: str = "", tagged: bool = False
) -> tuple[tuple[str, str], ...]:
    """The first ``MAX_ERRORS`` (field, problem) pairs of a pydantic error.

    ``tagged`` drops a union tag. ``error.error_count()`` says how many there are in all.
    """
    out = []
    for item in error.errors(include_url=False)[:MAX_ERRORS]:
        loc = list(item["loc"])
        if tagged and loc and isinstance(loc[0], str) and len(loc) > 1 and loc[0] == loc[1]:
            loc = loc[1:]
        kind = item["type"]
        problem = PROBLEMS.get(kind, item["msg"])
        if kind == "extra_forbidden":
            problem = f"unknown field '{loc[-1]}'"
        elif kind == "json_invalid":
            problem = f"invalid JSON: {item.get('ctx', {}).get('error', item['msg'])}"
        elif kind == "literal_error":
            problem = f"unknown column {item['input']!r}; allowed: {list(INVOCATION_COLUMNS)}"
        out.append((_path(prefix, loc) or "body", problem))
    return tuple(out)


def _path(prefix: str, loc: list[Any]) -> str:
    path = prefix
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        elif part == "[key]" or str(part).startswith("inputs:"):
            continue
        else:
            path += f".{part}" if path else str(part)
    return path
