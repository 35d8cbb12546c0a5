import argparse

from viarl.data.check import check_command


def _args(path, format, **kw):
    return argparse.Namespace(path=str(path), format=format, strict=False, limit=None, **kw)


def test_check_reports_and_exits_0(fixture_copy, capsys):
    root = fixture_copy("mlvu", ["video/1_needle/needle_a.mp4", "video/2_plotQA/plot_a.mp4"])
    assert check_command(_args(root, "mlvu")) == 0
    out = capsys.readouterr().out
    assert "samples usable" in out and "video missing" in out and "video unreadable" in out
    assert "2.0 / 2.0 / 2.0" in out  # the tiny videos last 2 s
    for row in ("videos referenced", "videos found", "videos decodable"):
        assert row in out


def test_check_exits_2_when_nothing_loads(fixture_copy, capsys):
    root = fixture_copy("mlvu", [])
    assert check_command(_args(root, "mlvu")) == 2
    assert "no usable samples" in capsys.readouterr().out
