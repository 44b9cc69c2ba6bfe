"""What the web service stores itself: sessions."""
