@echo off
rem Quick start: installs dependencies on the first run, then starts the server.
rem Arguments are passed on, e.g. start.bat --port 8080
cd /d "%~dp0"
where node >nul 2>nul
if errorlevel 1 (
  echo Node.js 20.19 or newer is needed: https://nodejs.org
  pause
  exit /b 1
)
if not exist node_modules (
  call npm install --no-audit --no-fund
  if errorlevel 1 (
    pause
    exit /b 1
  )
)
call npm start -- %*
