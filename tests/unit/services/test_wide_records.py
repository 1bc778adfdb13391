"""Wide records are built by keyword only: a record of eight string and integer fields
built by position silently swaps two of them when a field is added or reordered."""

from __future__ import annotations

import dataclasses

import pytest

from cloudenv.services.compute.attachments import DeviceTask
from cloudenv.services.compute.devices import DeviceView
from cloudenv.services.storage.images import ImagePlan, ImageView

pytestmark = pytest.mark.unit

RECORDS = [DeviceView, ImageView, ImagePlan, DeviceTask]


@pytest.mark.parametrize("record", RECORDS, ids=lambda r: r.__name__)
def test_a_wide_record_refuses_positional_construction(record: type) -> None:
    fields = dataclasses.fields(record)
    assert all(f.kw_only for f in fields), record
    with pytest.raises(TypeError):
        record(*(None for _ in fields))
    built = record(**{f.name: None for f in fields})
    with pytest.raises(dataclasses.FrozenInstanceError):
        built.name = "changed"
