CREATE TYPE legacy_mood AS ENUM ('happy', 'sad');
