-- wrk script for run.sh's api-mw row: every request asks for compression and carries a CORS origin, as a browser
-- calling the API from another origin would (wrk's -H cannot be passed through run.sh's word-split command lines).
wrk.headers["Accept-Encoding"] = "gzip, br"
wrk.headers["Origin"] = "https://app.example"
