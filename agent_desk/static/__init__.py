"""The wallboard page: plain HTML, CSS and JavaScript, served as is."""
