"""`viarl data needle` (and the `data check` wiring) through the real CLI."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from viarl.cli import build_parser, main


def test_needle_writes_dataset(tmp_path, capsys):
    rc = main(["data", "needle", str(tmp_path / "n"), "--videos", "2", "--frames", "24", "--fps", "12",
               "--seed", "5", "--difficulty", "2", "--split", "test", "--size", "64x48"])
    assert rc == 0
    assert "wrote 2 test needle videos" in capsys.readouterr().out
    entries = json.loads((tmp_path / "n" / "json" / "1_needle.json").read_text())
    truth = json.loads((tmp_path / "n" / "truth.json").read_text())
    assert [e["video"] for e in entries] == ["needle_test_s5_0000.mp4", "needle_test_s5_0001.mp4"]
    assert all(v["fps"] == 12 and v["num_frames"] == 24 for v in truth["videos"].values())
    import decord

    vr = decord.VideoReader(str(tmp_path / "n" / "video" / "1_needle" / entries[0]["video"]))
    assert len(vr) == 24 and vr[0].shape == (48, 64, 3)


@pytest.mark.parametrize("args, message", [
    (["--videos", "0"], "videos must be a positive integer"),
    (["--frames", "-5"], "frames must be a positive integer"),
    (["--fps", "0"], "fps must be"),
    (["--fps", "-1"], "fps must be"),
    (["--size", "65x64"], "odd side"),
    (["--size", "big"], "is not WxH"),
    (["--size", "8x8"], "out of range"),
    (["--seed", "-3"], "seed must be"),
    (["--difficulty", "0"], "difficulty must be"),
    (["--split", "dev"], "invalid choice"),
    (["--frames", "48-x"], "neither a number nor a range"),
    (["--frames", "96-48"], "lo <= hi"),
    (["--frames", "48.5"], "must be whole numbers"),
    (["--fps", "24-8"], "lo > hi"),
    (["--colours", "red,green"], "cannot fill 4 options"),
    (["--backgrounds", "lava"], "unknown or no backgrounds"),
    (["--wordings", "1,x"], "comma-separated list of numbers"),
    (["--videos", "two"], "invalid int value"),
])
def test_bad_arguments_exit_2(tmp_path, capsys, args, message):
    with pytest.raises(SystemExit) as e:
        raise SystemExit(main(["data", "needle", str(tmp_path / "n"), *args]))
    assert e.value.code == 2
    err = " ".join(capsys.readouterr().err.split())  # rich wraps long lines
    assert message in err and "Traceback" not in err
    assert not (tmp_path / "n").exists()


def test_unwritable_folder_exits_2_without_traceback(tmp_path):
    (tmp_path / "file").write_text("x")
    r = subprocess.run([sys.executable, "-m", "viarl.cli", "data", "needle", str(tmp_path / "file" / "n"),
                        "--videos", "1", "--frames", "8"], capture_output=True, text=True, timeout=120)
    assert r.returncode == 2
    err = " ".join(r.stderr.split())  # rich wraps long lines
    assert "is not a folder" in err and "fix:" in err and "Traceback" not in err


def test_check_subcommand_is_registered():
    args = build_parser().parse_args(["data", "check", "ann.json", "--format", "mlvu", "--strict",
                                      "--limit", "3"])
    assert (args.path, args.format, args.strict, args.limit) == ("ann.json", "mlvu", True, 3)
    assert args.func.__name__ == "run_check"


def test_check_runs_on_a_needle_dataset(needle_train_dir):
    pytest.importorskip("viarl.data.check")  # written by another module owner
    rc = main(["data", "check", str(needle_train_dir), "--format", "mlvu", "--strict"])
    assert rc == 0


def test_check_shows_the_needle_slot_histogram_of_a_balanced_set(tmp_path, capsys):
    root = tmp_path / "b"
    assert main(["data", "needle", str(root), "--videos", "8", "--frames", "24", "--size", "32x32",
                 "--difficulty", "1", "--balance", "4"]) == 0
    capsys.readouterr()
    assert main(["data", "check", str(root), "--format", "mlvu", "-T", "4"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "needle position over T=4 candidate slots" in out
    assert "slot counts range 2-2 (spread 0)" in out


FOREIGN_TRUTH = {"annotations": [{"video": "v1.mp4", "start_sec": 3.0, "end_sec": 9.5}], "tool": "other"}


def test_check_ignores_a_foreign_truth_json_in_a_parent_folder(tmp_path, capsys):
    """An MLVU folder whose parent holds another tool's truth.json: only the dataset's own root counts."""
    import json

    parent = tmp_path / "collection"
    root = parent / "mlvu"
    assert main(["data", "needle", str(root), "--videos", "4", "--frames", "24", "--size", "32x32",
                 "--balance", "4"]) == 0
    (parent / "truth.json").write_text(json.dumps(FOREIGN_TRUTH))
    capsys.readouterr()
    assert main(["data", "check", str(root), "--format", "mlvu", "-T", "4"]) == 0
    out = "".join(capsys.readouterr().out.split())  # rich wraps long paths anywhere
    assert f"mlvudataset:{root}" in out and "samplesusable│4" in out
    # the dataset's own truth.json is the one read; the parent's is never looked at
    assert f"({root / 'truth.json'})" in out and "notaviarltruthfile" not in out

    (root / "truth.json").write_text(json.dumps(FOREIGN_TRUTH))  # now a foreign file at the root itself
    assert main(["data", "check", str(root), "--format", "mlvu", "-T", "4"]) == 0
    out = "".join(capsys.readouterr().out.split())
    assert "samplesusable│4" in out and "needleposition" not in out
    assert f"note:{root / 'truth.json'}isnotaviarltruthfile" in out and "ignored" in out
