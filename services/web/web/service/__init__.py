"""What the pages do, composed from the APIs: the booking steps, a patient's visit, staff sign-in."""
