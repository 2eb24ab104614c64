"""The numerical core (DESIGN §2, §4): sparse LU (`sparse`), the log-density Fokker–Planck solver
(`solver`), grid coordinates (`grid`), analytic references (`analytic`) and the convergence check
behind `fpscore verify` (`verify`). Nothing here knows about images or training."""
