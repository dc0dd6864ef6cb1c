"""docs/deploy.md and CHANGELOG.md stay true to the code they describe.

The guide names `idlbot` subcommands and their options, and shows a sample
`slurm-mail.toml`; the MailProg rejects unknown keys, so a sample that drifted from
`mailprog.load_config` would break a cluster's job notices on the first mail. The
changelog must have an entry for the version being built.
"""

from __future__ import annotations

import argparse
import re
import tomllib
from pathlib import Path

import idlbot
from idlbot.adapters.slurm import mailprog
from idlbot.cli import parser

ROOT = Path(__file__).resolve().parents[2]
GUIDE = ROOT / "docs" / "deploy.md"
_ARGS = r"((?: (?:[a-z][a-z-]*|--[a-z-]+))*)"
_INVOCATION = re.compile(
    r"(?:^|\$ |`|&& |; )(?:/opt/idlbot/bin/)?idlbot ([a-z][a-z-]*)"
    + _ARGS  # idlbot itself
    + r"|(?:run --rm(?: --no-deps)?(?: -v \S+)? bot|idlbot:[\d.]+) ([a-z][a-z-]*)"
    + _ARGS,  # in Docker
    re.MULTILINE,
)
"""`idlbot <subcommand> …` where a command starts: a code line, an inline code span, after
`&&`; and the arguments after the image or compose service in `docker … run`."""


def subcommands() -> dict[str, argparse.ArgumentParser]:
    for action in parser()._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    raise AssertionError("idlbot has no subcommands")


def options(sub: argparse.ArgumentParser) -> set[str]:
    return {s for a in sub._actions for s in a.option_strings}


def test_every_idlbot_command_in_the_guide_exists_with_its_options() -> None:
    known = subcommands()
    text = re.sub(r"\\\n\s*", "", GUIDE.read_text(encoding="utf-8"))  # shell line continuations
    seen: set[str] = set()
    wrong: list[str] = []
    for match in _INVOCATION.finditer(text):
        name, rest = match.group(1) or match.group(3), match.group(2) or match.group(4) or ""
        if name not in known:
            wrong.append(f"idlbot {name}")
            continue
        seen.add(name)
        words = rest.split()
        sub = known[name]
        if name == "roster" and words[:1] == ["import"]:
            sub = dict(next(a for a in sub._actions if isinstance(a, argparse._SubParsersAction)).choices)[
                "import"
            ]
        wrong += [f"idlbot {name} {w}" for w in words if w.startswith("--") and w not in options(sub)]
    assert not wrong, f"docs/deploy.md names what the CLI does not have: {wrong}"
    assert {"check-config", "migrate", "setup-mattermost", "setup-gitlab", "roster", "run"} <= seen


def test_the_sample_slurm_mail_toml_is_read_by_the_mailprog(tmp_path: Path) -> None:
    text = GUIDE.read_text(encoding="utf-8")
    block = re.search(r"```toml\n(# /etc/idlbot/slurm-mail\.toml\n.*?)```", text, re.DOTALL)
    assert block is not None, "the guide's sample slurm-mail.toml"
    sample = tomllib.loads(block.group(1))
    assert set(sample) == {"spool_dir", "bot_url", "secret_file", "timeout"}
    secret = tmp_path / "slurm-secret"
    secret.write_text("s3cret\n")
    config = tmp_path / "slurm-mail.toml"
    config.write_text(block.group(1).replace(str(sample["secret_file"]), str(secret)))
    loaded = mailprog.load_config({"IDLBOT_SLURM_MAIL_CONFIG": str(config)})
    assert loaded.bot_url == sample["bot_url"]
    assert str(loaded.spool_dir) == sample["spool_dir"]
    assert loaded.secret == b"s3cret"
    assert "secret_env" in block.group(1)  # the alternative is named, commented out


def test_the_changelog_has_the_version_being_built_and_an_unreleased_section() -> None:
    text = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    assert "## [Unreleased]" in text
    version = re.escape(idlbot.__version__)
    assert re.search(rf"^## \[{version}\] - \d{{4}}-\d{{2}}-\d{{2}}$", text, re.MULTILINE)


def test_the_readme_links_the_guide_and_the_changelog() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "(docs/deploy.md)" in readme
    assert "(CHANGELOG.md)" in readme
