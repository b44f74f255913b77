-- expect: avoid-drop-type
DROP TYPE legacy_mood;
