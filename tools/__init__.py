"""Developer tools that stay out of the wheel: the showcase store the dashboard's screenshots and
the server tests are made from, and the script that takes the screenshots (`make screenshots`)."""
