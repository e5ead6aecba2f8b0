"""Reviews after a visit: the review request SMS, the review form (`/master_record_review`), and
the rating totals the staff views show."""
