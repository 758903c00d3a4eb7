"""Booking across clinics: directory, free times, book, rebook, cancel, my bookings."""
