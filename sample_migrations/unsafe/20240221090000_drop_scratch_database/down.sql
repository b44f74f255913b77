-- guard: no-transaction
CREATE DATABASE guard_sample_scratch;
