"""libwg.h is the one source of libwg's codes, and wg_rules.h of its MTU rules: wgcore must agree
with them."""

from __future__ import annotations

import re
from pathlib import Path

from wgcore import errors

HEADER = Path(__file__).resolve().parents[1] / "libwg" / "libwg.h"


def header_codes() -> dict[str, int]:
    text = HEADER.read_text()
    return {name: int(value) for name, value in re.findall(r"^#define WG_ERR_(\w+)\s+\((-\d+)\)", text, re.M)}


def test_every_libwg_error_code_has_its_own_exception() -> None:
    codes = header_codes()
    assert len(codes) >= 8, f"no WG_ERR_* found in {HEADER}"
    classes = {}
    for name, code in codes.items():
        cls = type(errors.error_for_code(code, "x"))
        assert cls.code == code, f"WG_ERR_{name} ({code}) maps to {cls.__name__} (code {cls.code})"
        classes[cls] = name
    assert len(classes) == len(codes), "two libwg codes share one exception class"


def test_no_exception_claims_a_code_libwg_does_not_have() -> None:
    codes = set(header_codes().values())
    for cls in (errors.WireGuardError, *errors.WireGuardError.__subclasses__()):
        if "code" in vars(cls):
            assert cls.code in codes, f"{cls.__name__}.code {cls.code} is not a WG_ERR_* of libwg.h"


RULES = HEADER.with_name("wg_rules.h")


def test_mtu_rules_come_from_wg_rules_h() -> None:
    from wgcore import _constants, config
    from wgcore.cli import wgquick

    text = RULES.read_text()
    defines = {name: int(value) for name, value in re.findall(r"^#define WG_(\w+)\s+(\d+)", text, re.M)}
    assert defines["DEFAULT_MTU"] == 1420  # wg-quick's default
    assert (_constants.MIN_MTU, _constants.MAX_MTU, _constants.DEFAULT_MTU) == (
        defines["MIN_MTU"], defines["MAX_MTU"], defines["DEFAULT_MTU"])
    assert (config.MIN_MTU, config.MAX_MTU, wgquick.DEFAULT_MTU) == (
        defines["MIN_MTU"], defines["MAX_MTU"], defines["DEFAULT_MTU"])


def test_errno_codes_become_the_oserror_of_their_errno() -> None:
    import errno

    from wgcore import _constants

    base = int(re.search(r"^#define WG_ERRNO_BASE\s+\((-\d+)\)", HEADER.read_text(), re.M)[1])  # type: ignore[index]
    assert _constants.ERRNO_BASE == base
    error = errors.error_for_code(base - errno.ECONNREFUSED, "connecting to 10.0.0.2:80: refused")
    assert type(error) is ConnectionRefusedError and error.errno == errno.ECONNREFUSED
    assert error.strerror == "connecting to 10.0.0.2:80: refused [ECONNREFUSED]"
    assert type(errors.error_for_code(base - errno.ETIMEDOUT, "x")) is TimeoutError
