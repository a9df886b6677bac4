import GRDB

extension Ledger {
    /// Migrations are never edited after they ship; changes come as new migrations.
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.execute(sql: """
                CREATE TABLE veil_ledger (
                    key TEXT PRIMARY KEY NOT NULL,
                    value TEXT NOT NULL
                );
                INSERT INTO veil_ledger (key, value) VALUES ('format', 'veil-ledger'), ('schema', '1');

                CREATE TABLE image (
                    id INTEGER PRIMARY KEY,
                    sha256 TEXT NOT NULL UNIQUE CHECK (length(sha256) = 64),
                    path TEXT NOT NULL CHECK (path <> ''),
                    width INTEGER NOT NULL CHECK (width > 0),
                    height INTEGER NOT NULL CHECK (height > 0),
                    first_seen TEXT NOT NULL
                );

                CREATE TABLE suggestion (
                    id INTEGER PRIMARY KEY,
                    image_id INTEGER NOT NULL REFERENCES image(id),
                    flag TEXT NOT NULL CHECK (flag <> ''),
                    score REAL NOT NULL CHECK (score >= 0 AND score <= 1),
                    threshold REAL NOT NULL CHECK (threshold >= 0 AND threshold <= 1),
                    state TEXT NOT NULL CHECK (state IN ('pending', 'restricted')),
                    model TEXT NOT NULL,
                    model_version TEXT NOT NULL,
                    policy TEXT NOT NULL,
                    policy_version TEXT NOT NULL,
                    confidentiality TEXT NOT NULL CHECK (confidentiality IN ('R', 'V')),
                    created_at TEXT NOT NULL
                );
                CREATE INDEX suggestion_by_image ON suggestion(image_id);
                CREATE INDEX suggestion_by_flag ON suggestion(flag);

                CREATE TABLE decision (
                    id INTEGER PRIMARY KEY,
                    suggestion_id INTEGER NOT NULL REFERENCES suggestion(id),
                    reviewer TEXT NOT NULL CHECK (length(trim(reviewer)) > 0),
                    decision TEXT NOT NULL CHECK (decision IN ('confirmed', 'rejected')),
                    reason TEXT,
                    decided_at TEXT NOT NULL
                );
                CREATE INDEX decision_by_suggestion ON decision(suggestion_id);

                CREATE TRIGGER suggestion_append_only_update BEFORE UPDATE ON suggestion
                BEGIN SELECT RAISE(ABORT, 'suggestions are append-only'); END;
                CREATE TRIGGER suggestion_append_only_delete BEFORE DELETE ON suggestion
                BEGIN SELECT RAISE(ABORT, 'suggestions are append-only'); END;
                CREATE TRIGGER decision_append_only_update BEFORE UPDATE ON decision
                BEGIN SELECT RAISE(ABORT, 'decisions are append-only'); END;
                CREATE TRIGGER decision_append_only_delete BEFORE DELETE ON decision
                BEGIN SELECT RAISE(ABORT, 'decisions are append-only'); END;
                CREATE TRIGGER image_keep BEFORE DELETE ON image
                BEGIN SELECT RAISE(ABORT, 'images in the ledger are kept'); END;
                """)
        }
        // DICOM: the UIDs that link a label back to the archive, and which frame of a
        // multi-frame object a suggestion is for (NULL for single images).
        migrator.registerMigration("v2") { db in
            try db.execute(sql: """
                ALTER TABLE image ADD COLUMN study_instance_uid TEXT;
                ALTER TABLE image ADD COLUMN series_instance_uid TEXT;
                ALTER TABLE image ADD COLUMN sop_instance_uid TEXT;
                ALTER TABLE suggestion ADD COLUMN frame INTEGER CHECK (frame IS NULL OR frame >= 1);
                UPDATE veil_ledger SET value = '2' WHERE key = 'schema';
                """)
        }
        // Reviewer-safe previews: every less-obscured view a reviewer asked for.
        migrator.registerMigration("v3") { db in
            try db.execute(sql: """
                CREATE TABLE reveal (
                    id INTEGER PRIMARY KEY,
                    image_id INTEGER NOT NULL REFERENCES image(id),
                    reviewer TEXT NOT NULL CHECK (length(trim(reviewer)) > 0),
                    level INTEGER NOT NULL CHECK (level >= 0),
                    reason TEXT,
                    revealed_at TEXT NOT NULL
                );
                CREATE INDEX reveal_by_image ON reveal(image_id);
                CREATE TRIGGER reveal_append_only_update BEFORE UPDATE ON reveal
                BEGIN SELECT RAISE(ABORT, 'reveals are append-only'); END;
                CREATE TRIGGER reveal_append_only_delete BEFORE DELETE ON reveal
                BEGIN SELECT RAISE(ABORT, 'reveals are append-only'); END;
                UPDATE veil_ledger SET value = '3' WHERE key = 'schema';
                """)
        }
        // What produced each suggestion is in model / model_version (the classifier, the
        // face detector, "vocabulary" or "DICOM <attribute>"). A suggestion made again after
        // a reviewer decided (under a new model or policy version) names the decision it may
        // supersede; re-scoring under the same versions adds nothing.
        migrator.registerMigration("v4") { db in
            try db.execute(sql: """
                ALTER TABLE suggestion ADD COLUMN supersedes_decision INTEGER REFERENCES decision(id);
                CREATE INDEX suggestion_by_image_flag ON suggestion(image_id, flag);
                UPDATE veil_ledger SET value = '4' WHERE key = 'schema';
                """)
        }
        // Standard labels: the DICOM sensitive content codes (CID 900 category, CID 901
        // details) a suggestion's confirmed label carries, and the details a reviewer adds,
        // as JSON arrays of {value, scheme, meaning}. Older rows carry none.
        migrator.registerMigration("v5") { db in
            try db.execute(sql: """
                ALTER TABLE suggestion ADD COLUMN labels TEXT NOT NULL DEFAULT '[]';
                ALTER TABLE decision ADD COLUMN details TEXT NOT NULL DEFAULT '[]';
                UPDATE veil_ledger SET value = '5' WHERE key = 'schema';
                """)
        }
        return migrator
    }
}
