-- Apple Music pre-add: the fan's storefront (country catalog), read once at
-- consent from GET /v1/me/storefront; empty for other platforms.
ALTER TABLE presaves ADD COLUMN storefront TEXT NOT NULL DEFAULT '';
