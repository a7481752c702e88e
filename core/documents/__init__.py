"""After the consultation (SPEC §18): notes, documents, receipts and credit notes, PDFs, verification."""
