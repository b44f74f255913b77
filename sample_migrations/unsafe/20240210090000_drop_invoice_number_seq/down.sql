CREATE SEQUENCE invoice_number_seq;
