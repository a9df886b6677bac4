#!/usr/bin/env python3
"""Drives the Veil review desk in headless Chromium, as a reviewer would, with the keyboard.

Signs in, opens the queue, takes the first card with `n`, confirms it with `c`, rejects the
next with `r`, reveals the third one level with `v` and a reason, and confirms it with `c`.
Prints one JSON object: the suggestion ids decided, the reveal, and any browser console
errors (a Content-Security-Policy violation would be one). The Swift test that runs this
checks the ledger itself.

Needs Debian's chromium, chromium-driver and python3-selenium; run by
Tests/VeilDeskTests/DeskBrowserTests.swift.
"""
import argparse
import json
import os
import re
import sys
import tempfile

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import WebDriverWait


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--user", required=True)
    parser.add_argument("--password", required=True)
    parser.add_argument("--reason", default="check that the face is blocked")
    parser.add_argument("--screenshots", help="a folder for desk-queue.png and desk-card.png")
    args = parser.parse_args()

    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--window-size=1200,860", "--force-device-scale-factor=1", "--no-first-run",
                 "--disable-extensions", "--disable-background-networking", "--disable-sync"):
        options.add_argument(flag)
    profile = tempfile.mkdtemp(prefix="veil-chromium-")
    options.add_argument(f"--user-data-dir={profile}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    wait = WebDriverWait(driver, 30)
    result = {"decided": [], "revealed": None}

    def loaded():
        return driver.execute_script("return document.readyState") == "complete"

    def images_loaded():
        return driver.execute_script(
            "return Array.from(document.images).every(i => i.complete && i.naturalWidth > 0)")

    def press(key, expect_new_url=True):
        before = driver.current_url
        ActionChains(driver).send_keys(key).perform()
        if expect_new_url:
            wait.until(lambda d: d.current_url != before and loaded())

    def card_id():
        match = re.search(r"/cards/([0-9]+)", driver.current_url)
        if not match:
            raise SystemExit(f"not on a card: {driver.current_url}")
        return int(match.group(1))

    try:
        driver.get(args.url + "/")
        wait.until(lambda d: "/signin" in d.current_url and loaded())
        driver.find_element(By.ID, "name").send_keys(args.user)
        password = driver.find_element(By.ID, "password")
        password.send_keys(args.password)
        password.send_keys(Keys.ENTER)
        wait.until(lambda d: d.find_elements(By.ID, "left") and loaded())
        result["left_before"] = int(driver.find_element(By.ID, "left").text)
        wait.until(lambda d: images_loaded())
        if args.screenshots:
            driver.save_screenshot(os.path.join(args.screenshots, "desk-queue.png"))

        press("n")
        wait.until(lambda d: images_loaded())
        if args.screenshots:
            driver.save_screenshot(os.path.join(args.screenshots, "desk-card.png"))
        first = card_id()
        press("c")
        result["decided"].append([first, "confirmed"])
        second = card_id()
        press("r")
        result["decided"].append([second, "rejected"])
        third = card_id()
        # `v` puts the cursor in the reveal's reason; Enter sends it.
        press("v", expect_new_url=False)
        active = driver.switch_to.active_element
        if active.get_attribute("id") != "reveal-reason":
            raise SystemExit("v did not focus the reveal reason")
        active.send_keys(args.reason)
        active.send_keys(Keys.ENTER)
        wait.until(lambda d: "Level 1" in d.find_element(By.TAG_NAME, "figcaption").text and loaded())
        wait.until(lambda d: images_loaded())
        result["revealed"] = [third, 1]
        press("c")
        result["decided"].append([third, "confirmed"])
        result["console_errors"] = [entry["message"] for entry in driver.get_log("browser")
                                    if entry.get("level") == "SEVERE"]
    finally:
        driver.quit()
    print(json.dumps(result))


if __name__ == "__main__":
    sys.exit(main())
