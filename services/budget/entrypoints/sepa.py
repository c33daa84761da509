"""The SEPA credit transfer file (pain.001.001.09, the Deutsche Kreditwirtschaft's current
format) of a payment run, built with ``sepaxml`` and validated against the ISO schema.

The file is the same bytes however often it is downloaded: the library's random message and
payment ids and its creation time from the wall clock are replaced by the run's own.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from sepaxml import SepaTransfer
from sepaxml.validation import try_valid_xml

from services.budget.domain.payouts import PaymentRequest, PaymentRun, describe

SCHEMA = "pain.001.001.09"
_NS = {"p": f"urn:iso:std:iso:20022:tech:xsd:{SCHEMA}"}


@dataclass(frozen=True)
class DebtorAccount:
    """The programme's account the payments leave from."""

    name: str
    iban: str
    bic: str | None = None


def credit_transfer_xml(
    run: PaymentRun,
    requests: Sequence[PaymentRequest],
    debtor: DebtorAccount,
    titles: Mapping[str, str],
) -> bytes:
    config: dict[str, object] = {
        "name": debtor.name,
        "IBAN": debtor.iban,
        "batch": True,
        "currency": "EUR",
    }
    if debtor.bic:
        config["BIC"] = debtor.bic
    transfer = SepaTransfer(config, schema=SCHEMA, clean=True)
    for payment in requests:
        entry: dict[str, object] = {
            "name": payment.account_holder,
            "IBAN": payment.iban,
            "amount": payment.amount_cents,
            "execution_date": run.execution_date,
            "description": describe(payment, titles.get(payment.team_id, "")),
            "endtoend_id": payment.id.replace("-", ""),
        }
        if payment.bic:
            entry["BIC"] = payment.bic
        transfer.add_payment(entry)
    # Our own document, just written by sepaxml: nothing untrusted is parsed here.
    document = ET.fromstring(transfer.export(validate=False))  # noqa: S314
    run_ref = run.id.replace("-", "")
    header = document.find("p:CstmrCdtTrfInitn/p:GrpHdr", _NS)
    assert header is not None
    _set(header, "p:MsgId", run_ref)
    _set(header, "p:CreDtTm", run.created_at.strftime("%Y-%m-%dT%H:%M:%S"))
    for number, info in enumerate(document.iterfind("p:CstmrCdtTrfInitn/p:PmtInf", _NS), 1):
        _set(info, "p:PmtInfId", f"{run_ref[:30]}-{number}")
    # Written back with the schema's namespace as the default one, as banks expect it.
    ET.register_namespace("", _NS["p"])
    body: bytes = ET.tostring(document, encoding="utf-8", xml_declaration=False)
    out = b'<?xml version="1.0" encoding="UTF-8"?>' + body
    try_valid_xml(out, SCHEMA)
    return out


def _set(parent: ET.Element, path: str, text: str) -> None:
    node = parent.find(path, _NS)
    assert node is not None, path
    node.text = text
