"""The core imports no framework: `import aigc` and `aigc backends` work without them."""

import subprocess
import sys
import textwrap

from aigc import backends

FRAMEWORKS = ("torch", "tensorflow", "keras", "jax", "jaxlib", "flax", "optax")  # the modules blocked below

BLOCK = f"FRAMEWORKS = {FRAMEWORKS!r}\n" + textwrap.dedent(
    """
    import sys
    class Block:
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in FRAMEWORKS:
                raise ImportError(f"No module named {name!r}", name=name)
    sys.meta_path.insert(0, Block())
    """
)


def run(code: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", BLOCK + textwrap.dedent(code)], capture_output=True, text=True, timeout=120
    )


def test_import_aigc_without_frameworks():
    r = run(
        """
        import aigc, aigc.config, aigc.losses, aigc.optim, aigc.models, aigc.training.loop, aigc.checkpoint, aigc.cli
        assert not any(m.split(".")[0] in FRAMEWORKS for m in sys.modules)
        print("ok")
        """
    )
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "ok"


def test_backends_command_without_frameworks():
    r = run("from aigc.cli import main; raise SystemExit(main(['backends']))")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.strip().splitlines()
    assert len(lines) == len(backends.names())  # torch, tensorflow, jax, ...: none installed here
    assert all("not installed" in line for line in lines)
    assert "torch" in lines[0] and "not installed" in lines[0] and "pip install 'aigc[torch]'" in lines[0]
    assert "tensorflow" in lines[1] and "pip install 'aigc[tensorflow]'" in lines[1]


def test_selecting_missing_backend_is_one_line_with_install_hint(tmp_path):
    r = run(
        f"""
        from aigc.cli import main
        raise SystemExit(main(['train', 'configs/gan_ring8.yaml', 'backend=tensorflow', 'out={tmp_path}/run']))
        """
    )
    assert r.returncode == 2
    assert r.stderr.strip().count("\\n") == 0
    assert "pip install 'aigc[tensorflow]'" in r.stderr
    assert not (tmp_path / "run").exists()
