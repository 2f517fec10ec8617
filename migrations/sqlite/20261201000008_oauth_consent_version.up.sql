-- The consent wording the fan saw when pressing the button (presave-v1 on the
-- countdown, save-v1 on the smart link), carried through the platform's
-- consent screen so a callback that arrives after the release still records
-- the words the fan agreed to. Empty for attempts started before this column.
ALTER TABLE oauth_states ADD COLUMN consent_version TEXT NOT NULL DEFAULT '';
