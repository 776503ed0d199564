"""The index that follows a campaign's changes feed, on every store."""

from __future__ import annotations

import threading
from contextlib import closing

from server.projection import Handler, Projection


class Kinds(Handler):
    """Each document's type and name; a tally per type settled after every batch."""

    name = "kinds"
    version = "1"
    schema = """
        CREATE TABLE kinds (doc_id TEXT NOT NULL, type TEXT, name TEXT);
        CREATE INDEX kinds_doc ON kinds (doc_id);
        CREATE TABLE tally (type TEXT PRIMARY KEY, n INTEGER NOT NULL)
    """
    tables = ("kinds",)

    def rows(self, doc):
        yield "kinds", (doc["_id"], doc.get("type"), doc.get("name"))

    def settle(self, conn, changed):
        conn.execute("DELETE FROM tally")
        conn.execute("INSERT INTO tally SELECT type, count(*) FROM kinds GROUP BY type")


def rows(projection):
    with closing(projection.read()) as conn:
        return sorted(conn.execute("SELECT doc_id, type, name FROM kinds").fetchall())


def tally(projection):
    with closing(projection.read()) as conn:
        return dict(conn.execute("SELECT type, n FROM tally").fetchall())


def test_follows_writes_edits_and_deletions(db, tmp_path):
    projection = Projection(db, tmp_path / "i.sqlite", [Kinds()], batch=3)
    written = db.bulk_docs([{"_id": f"turf:{i}", "type": "turf", "name": f"T{i}"} for i in range(7)])
    assert projection.catch_up() == 7  # three batches of at most 3
    assert len(rows(projection)) == 7 and tally(projection) == {"turf": 7}
    db.put({"_id": "turf:1", "_rev": written[1]["rev"], "type": "turf", "name": "renamed"})
    db.put({"_id": "turf:2", "_rev": written[2]["rev"], "_deleted": True})
    db.put({"_id": "household:1", "type": "household"})
    assert projection.catch_up() == 3
    assert ("turf:1", "turf", "renamed") in rows(projection)
    assert "turf:2" not in [r[0] for r in rows(projection)]
    assert tally(projection) == {"turf": 6, "household": 1}
    assert projection.catch_up() == 0


def test_a_second_process_on_its_own_file_converges_and_a_deleted_file_is_rebuilt(db, tmp_path):
    one = Projection(db, tmp_path / "one.sqlite", [Kinds()])
    db.bulk_docs([{"_id": f"d{i}", "type": "x", "name": str(i)} for i in range(5)])
    one.catch_up()
    two = Projection(db, tmp_path / "two.sqlite", [Kinds()])
    db.bulk_docs([{"_id": "d9", "type": "y"}])
    two.catch_up()
    one.catch_up()
    assert rows(one) == rows(two) and len(rows(one)) == 6
    one.close()
    for suffix in ("", "-wal", "-shm"):
        (tmp_path / f"one.sqlite{suffix}").unlink(missing_ok=True)
    again = Projection(db, tmp_path / "one.sqlite", [Kinds()])
    assert again.catch_up() == 6 and rows(again) == rows(two)


def test_two_followers_of_one_file_apply_each_change_once(db, tmp_path):
    db.bulk_docs([{"_id": f"d{i:03d}", "type": "x"} for i in range(300)])
    followers = [Projection(db, tmp_path / "shared.sqlite", [Kinds()], batch=7) for _ in range(3)]
    threads = [threading.Thread(target=f.catch_up) for f in followers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(rows(followers[0])) == 300 and tally(followers[0]) == {"x": 300}


def test_a_new_handler_version_rebuilds_its_tables(db, tmp_path):
    db.bulk_docs([{"_id": "a", "type": "x", "name": "first"}])
    Projection(db, tmp_path / "i.sqlite", [Kinds()]).catch_up()

    class Named(Kinds):
        version = "2"

        def rows(self, doc):
            yield "kinds", (doc["_id"], doc.get("type"), (doc.get("name") or "").upper())

    projection = Projection(db, tmp_path / "i.sqlite", [Named()])
    assert rows(projection) == []
    assert projection.catch_up() == 1
    assert rows(projection) == [("a", "x", "FIRST")]
