"""The disk-full report: usage comes from the one injectable usage reader."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

from adminbot.actions.diskreport import disk_report


def test_the_report_reads_usage_through_the_given_reader(tmp_path: Path) -> None:
    (tmp_path / "videos").mkdir()
    (tmp_path / "videos" / "a.mp4").write_bytes(b"x" * 2048)
    asked: list[str] = []

    def reader(path: str) -> SimpleNamespace:
        asked.append(path)
        return SimpleNamespace(total=100 * 2**30, used=97 * 2**30, free=3 * 2**30, percent=97.0)

    report = disk_report([tmp_path], usage_reader=reader)
    assert asked == [str(tmp_path)]
    assert report.english() == f"{tmp_path}: 97% used, 3.0 GB free; largest: videos 2.0 KB"


def test_a_folder_whose_usage_cannot_be_read_says_why(tmp_path: Path) -> None:
    def reader(path: str) -> SimpleNamespace:
        raise FileNotFoundError(2, "No such file or directory")

    report = disk_report([tmp_path], usage_reader=reader)
    assert report.english() == f"{tmp_path}: No such file or directory"
