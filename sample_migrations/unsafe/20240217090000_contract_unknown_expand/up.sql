-- A contract directive must name an earlier expand migration; 20991231000000 does not exist.
-- expect: contract-needs-earlier-expand
-- guard: contract 20991231000000
-- expect: avoid-drop-column
ALTER TABLE users DROP COLUMN legacy_score;
