#!/usr/bin/env python3
"""Validate a publiccode.yml file against the publiccode.yml standard (version 0.7).

    python3 tests/publiccode/check.py [--self-test] [FILE]

FILE defaults to publiccode.yml at the repository root. The rules are in
publiccode.schema.json beside this script (JSON Schema 2020-12, written from the
standard's key list) plus what a schema cannot say:

- the file is UTF-8 and has no duplicate keys; it is read with YAML 1.2's core
  rules, so an unquoted date stays a string and `no` or `NO` is not a boolean;
- legal.license is a valid SPDX expression of known licences, in canonical form;
- logo, screenshots and authorsFile given as relative paths exist in the repository;
- next to a Cargo.toml (this repository): legal.license and softwareVersion match
  its [workspace.package] license and version.

Deprecated keys are reported as warnings and do not fail the check.

--self-test checks FILE as usual and then checks broken copies of it (no
legal.license, a too short longDescription, an unknown category, …): each one
must be rejected for the expected reason, so the check is shown to be able to
fail.

Needs PyYAML, jsonschema and license-expression (pip: pyyaml jsonschema
license-expression). Exit status 0 when valid, 1 when not, 2 on usage errors.
"""

from __future__ import annotations

import argparse
import copy
import json
import re
import sys
import tempfile
from pathlib import Path

try:
    import yaml
    from jsonschema import Draft202012Validator
    from license_expression import get_spdx_licensing
except ImportError as exc:  # pragma: no cover - depends on the machine
    sys.stderr.write(
        f"publiccode check: {exc.name} is missing; install it with "
        "`python3 -m pip install pyyaml jsonschema license-expression`\n"
    )
    sys.exit(2)

HERE = Path(__file__).resolve().parent
SCHEMA_PATH = HERE / "publiccode.schema.json"
REPO_ROOT = HERE.parent.parent

DEPRECATED = {
    ("monochromeLogo",): "monochromeLogo is deprecated",
    ("inputTypes",): "inputTypes is deprecated",
    ("outputTypes",): "outputTypes is deprecated",
    ("legal", "repoOwner"): "legal.repoOwner is deprecated: use organisation.name",
    ("legal", "authorsFile"): "legal.authorsFile is deprecated",
    ("it",): "country sections are deprecated in favour of `supports`",
    ("IT",): "country sections are deprecated in favour of `supports`",
}
KNOWN_PLATFORMS = {"web", "windows", "mac", "linux", "ios", "android"}


# --- YAML 1.2 core schema on top of PyYAML (which speaks YAML 1.1) -------------


class _Loader(yaml.SafeLoader):
    """SafeLoader without YAML 1.1's timestamps and yes/no/on/off booleans, and
    with duplicate mapping keys reported as errors."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag not in ("tag:yaml.org,2002:timestamp", "tag:yaml.org,2002:bool")]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool",
    re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
    list("tTfF"),
)


def _construct_mapping(loader: _Loader, node: yaml.MappingNode, deep: bool = False) -> dict:
    loader.flatten_mapping(node)
    seen: dict = {}
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                "while reading a mapping",
                node.start_mark,
                f"found the key {key!r} twice",
                key_node.start_mark,
            )
        seen[key] = True
    return loader.construct_mapping(node, deep=deep)


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


# --- the check ------------------------------------------------------------------


def _path(parts) -> str:
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def _workspace_package(root: Path) -> dict | None:
    cargo = root / "Cargo.toml"
    if not cargo.is_file():
        return None
    import tomllib

    with cargo.open("rb") as fh:
        return tomllib.load(fh).get("workspace", {}).get("package")


def check_text(text: str, base_dir: Path, compare_with_cargo: bool) -> tuple[list[str], list[str]]:
    """Return (errors, warnings) for the publiccode.yml content `text`."""
    errors: list[str] = []
    warnings: list[str] = []
    try:
        data = yaml.load(text, Loader=_Loader)
    except yaml.YAMLError as exc:
        return [f"not valid YAML: {exc}"], warnings
    if not isinstance(data, dict):
        return ["the document is not a mapping of keys"], warnings

    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    validator = Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)
    for err in sorted(validator.iter_errors(data), key=lambda e: list(map(str, e.absolute_path))):
        errors.append(f"{_path(err.absolute_path)}: {err.message}")

    # SPDX expression.
    licence = (data.get("legal") or {}).get("license") if isinstance(data.get("legal"), dict) else None
    if isinstance(licence, str) and licence.strip():
        info = get_spdx_licensing().validate(licence, strict=True)
        if info.errors:
            errors.append(f"legal.license: {licence!r} is not a valid SPDX expression ({'; '.join(info.errors)})")
        elif info.normalized_expression != licence:
            errors.append(f"legal.license: write {licence!r} as {info.normalized_expression!r} (SPDX identifiers)")

    # Files the standard wants inside the repository.
    paths = []
    if isinstance(data.get("logo"), str):
        paths.append(("logo", data["logo"]))
    if isinstance(data.get("monochromeLogo"), str):
        paths.append(("monochromeLogo", data["monochromeLogo"]))
    if isinstance(data.get("legal"), dict) and isinstance(data["legal"].get("authorsFile"), str):
        paths.append(("legal.authorsFile", data["legal"]["authorsFile"]))
    for lang, desc in (data.get("description") or {}).items() if isinstance(data.get("description"), dict) else []:
        if isinstance(desc, dict):
            for i, shot in enumerate(desc.get("screenshots") or []):
                if isinstance(shot, str):
                    paths.append((f"description.{lang}.screenshots[{i}]", shot))
            if "genericName" in desc:
                warnings.append(f"description.{lang}.genericName is deprecated")
    for where, value in paths:
        if "://" in value:
            continue
        if Path(value).is_absolute() or ".." in Path(value).parts:
            errors.append(f"{where}: {value!r} must be a path relative to the repository root")
        elif not (base_dir / value).is_file():
            errors.append(f"{where}: {value!r} does not exist in the repository")

    # Deprecations and soft rules: warnings only.
    for keys, message in DEPRECATED.items():
        node = data
        for key in keys:
            node = node.get(key) if isinstance(node, dict) else None
        if node is not None:
            warnings.append(message)
    audience = data.get("intendedAudience")
    if isinstance(audience, dict):
        for key in ("countries", "unsupportedCountries"):
            for code in audience.get(key) or []:
                if isinstance(code, str) and code != code.upper():
                    warnings.append(f"intendedAudience.{key}: lower-case {code!r} is deprecated, write {code.upper()!r}")
    platforms = data.get("platforms")
    for platform in [platforms] if isinstance(platforms, str) else (platforms or []):
        if isinstance(platform, str) and platform not in KNOWN_PLATFORMS:
            warnings.append(f"platforms: {platform!r} is not one of the predefined values {sorted(KNOWN_PLATFORMS)}")

    # This repository: publiccode.yml says what Cargo.toml says.
    if compare_with_cargo:
        package = _workspace_package(base_dir)
        if package is not None:
            if isinstance(licence, str) and package.get("license") != licence:
                errors.append(
                    f"legal.license is {licence!r} but Cargo.toml's [workspace.package] license is {package.get('license')!r}"
                )
            version = data.get("softwareVersion")
            if version is not None and package.get("version") != version:
                errors.append(
                    f"softwareVersion is {version!r} but Cargo.toml's [workspace.package] version is {package.get('version')!r}"
                )
    return errors, warnings


def check_file(path: Path, compare_with_cargo: bool = True) -> tuple[list[str], list[str]]:
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        return [f"not UTF-8: {exc}"], []
    return check_text(text, path.resolve().parent, compare_with_cargo)


# --- self-test ------------------------------------------------------------------


def _del(keys):
    def edit(doc):
        node = doc
        for key in keys[:-1]:
            node = node[key]
        del node[keys[-1]]

    return edit


def _set(keys, value):
    def edit(doc):
        node = doc
        for key in keys[:-1]:
            node = node[key]
        node[keys[-1]] = value

    return edit


def _on_text(transform):
    """Marks an edit that works on the file's text instead of the parsed document."""
    transform.on_text = True
    return transform


def _broken_copies(doc: dict):
    """(name, edit, text expected in one of the errors). An edit changes the parsed
    document in place, or, marked with _on_text, returns a new text."""
    lang = next(iter(doc["description"]))
    yield "no legal.license", _del(["legal", "license"]), "'license' is a required property"
    yield "longDescription of 149 characters", _set(["description", lang, "longDescription"], "x" * 149), "is too short"
    yield "shortDescription of 151 characters", _set(["description", lang, "shortDescription"], "x" * 151), "is too long"
    yield "no features", _del(["description", lang, "features"]), "'features' is a required property"
    yield "no description at all", _set(["description"], {}), "should be non-empty"
    yield "description in a language without a primary subtag", _set(["description"], {"-NL": doc["description"][lang]}), "does not match"
    yield "unknown developmentStatus", _set(["developmentStatus"], "production"), "is not one of"
    yield "unknown softwareType", _set(["softwareType"], "standalone"), "is not one of"
    yield "unknown category", _set(["categories"], ["web-analytics"]), "is not one of"
    yield "unknown scope", _set(["intendedAudience"], {"scope": ["municipalities"]}), "is not one of"
    yield "unknown maintenance.type", _set(["maintenance"], {"type": "company"}), "is not one of"
    yield "community maintenance without contacts", _set(["maintenance"], {"type": "community"}), "'contacts' is a required property"
    yield "contract maintenance without contractors", _set(["maintenance"], {"type": "contract"}), "'contractors' is a required property"
    yield "contractors without a contract", _set(
        ["maintenance"], {"type": "none", "contractors": [{"name": "X", "until": "2030-01-01"}]}
    ), "should not be valid"
    yield "licence that is no SPDX identifier", _set(["legal", "license"], "EUPL 1.2"), "not a valid SPDX expression"
    yield "licence that is not in SPDX form", _set(["legal", "license"], "eupl-1.2"), "(SPDX identifiers)"
    yield "releaseDate that is no date", _set(["releaseDate"], "2026-13-40"), "is not a 'date'"
    yield "url that is no URL", _set(["url"], "luister"), "does not match"
    yield "localisationReady as a string", _set(["localisation", "localisationReady"], "yes"), "is not of type 'boolean'"
    yield "no availableLanguages", _del(["localisation", "availableLanguages"]), "'availableLanguages' is a required property"
    yield "an unknown key", _set(["licence"], "EUPL-1.2"), "Additional properties are not allowed"
    yield "an older publiccodeYmlVersion", _set(["publiccodeYmlVersion"], "0.2"), "is not one of"
    yield "unknown supports alias", _set(["supports"], [{"id": "alias:avg"}]), "is not valid under any of the given schemas"
    yield "platforms as a single string", _set(["platforms"], "web"), "is not of type 'array'"
    yield "country code in mixed case", _set(["intendedAudience"], {"countries": ["Nl"]}), "does not match"
    yield "logo given as a file: URL", _set(["logo"], "file:///logo.svg"), "does not match"
    yield "logo file that does not exist", _set(["logo"], "img/no-such-logo.svg"), "does not exist in the repository"
    yield "a key given twice", _on_text(lambda text: text + "\nname: Luister again\n"), "found the key 'name' twice"
    yield "not a mapping", _on_text(lambda text: "- just\n- a list\n"), "not a mapping"


def self_test(path: Path) -> int:
    passed = failed = 0
    errors, warnings = check_file(path)
    for warning in warnings:
        print(f"self-test: warning in {path}: {warning}")
    if errors:
        failed += 1
        print(f"self-test: FAIL {path} itself is not valid:")
        for error in errors:
            print(f"    {error}")
    else:
        passed += 1
        print(f"self-test: ok   {path} is valid")

    text = path.read_text(encoding="utf-8")
    original = yaml.load(text, Loader=_Loader)
    with tempfile.TemporaryDirectory(prefix="publiccode-self-test-") as tmp:
        for name, edit, expected in _broken_copies(original):
            if getattr(edit, "on_text", False):
                broken_text = edit(text)
            else:
                doc = copy.deepcopy(original)
                edit(doc)
                broken_text = yaml.safe_dump(doc, allow_unicode=True, sort_keys=False)
            broken = Path(tmp) / "publiccode.yml"
            broken.write_text(broken_text, encoding="utf-8")
            errors, _ = check_file(broken, compare_with_cargo=False)
            if any(expected in error for error in errors):
                passed += 1
                print(f"self-test: ok   rejected {name}")
            else:
                failed += 1
                print(f"self-test: FAIL {name} was not rejected with {expected!r}; errors: {errors or 'none'}")

        # The comparison with Cargo.toml catches a licence or version that drifted.
        cargo_dir = Path(tmp) / "with-cargo"
        cargo_dir.mkdir()
        (cargo_dir / "Cargo.toml").write_text(
            '[workspace.package]\nversion = "9.9.9"\nlicense = "AGPL-3.0-or-later"\n', encoding="utf-8"
        )
        (cargo_dir / "publiccode.yml").write_text(text, encoding="utf-8")
        errors, _ = check_file(cargo_dir / "publiccode.yml")
        for key in ("legal.license", "softwareVersion"):
            if key == "softwareVersion" and "softwareVersion" not in original:
                continue
            if any(error.startswith(f"{key} is ") for error in errors):
                passed += 1
                print(f"self-test: ok   rejected {key} that differs from Cargo.toml")
            else:
                failed += 1
                print(f"self-test: FAIL {key} that differs from Cargo.toml was not rejected; errors: {errors or 'none'}")

    print(f"self-test: {passed} passed, {failed} failed")
    return 0 if failed == 0 else 1


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("file", nargs="?", default=str(REPO_ROOT / "publiccode.yml"), help="publiccode.yml to check")
    parser.add_argument("--self-test", action="store_true", help="also check that broken copies of FILE are rejected")
    args = parser.parse_args(argv)
    path = Path(args.file)
    if not path.is_file():
        print(f"publiccode check: no file {path}", file=sys.stderr)
        return 2
    if args.self_test:
        return self_test(path)
    errors, warnings = check_file(path)
    for warning in warnings:
        print(f"{path}: warning: {warning}")
    for error in errors:
        print(f"{path}: error: {error}")
    if errors:
        print(f"{path}: not valid ({len(errors)} error{'s' if len(errors) != 1 else ''})")
        return 1
    print(f"{path}: valid publiccode.yml (standard 0.7)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
