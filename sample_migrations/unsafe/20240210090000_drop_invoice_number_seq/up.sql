-- expect: avoid-drop-sequence
DROP SEQUENCE invoice_number_seq;
